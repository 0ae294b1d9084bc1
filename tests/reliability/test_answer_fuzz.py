"""Fuzzed answers, the one gap left by ``tests/unit/test_parsers_fuzz.py``: the whole answer-to-error path.

``raise_for_error_status`` (error statuses) and ``decode_body`` (2xx bodies) get arbitrary statuses, content types and
bodies, some of which quote the API token (a proxy or server echoing the request). They return or raise only the
provider's ``CeligoApiError``, retryable exactly for 429 and 5xx, and the token is never in what they raise.

Reproducible: Hypothesis is derandomized (the examples are a function of the test, not of the clock) with no
example database, and the token is fixed, so every run tries the same answers and scans the same places (each
distinct exception raised is one place, named by the answer that caused it).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from report import FIGURES, exception_place, scan_for_token

from airflow_provider_celigo.exceptions import CeligoApiError
from airflow_provider_celigo.hooks._transport.responses import decode_body, raise_for_error_status
from airflow_provider_celigo.hooks._transport.retry import RETRYABLE_STATUSES, RetryableResponse

TOKEN = hashlib.sha256(b"answer_fuzz").hexdigest()[:32]  # 32 hex characters, like integrator.io tokens; fixed
EXAMPLES = 150

content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/html", "text/plain", "application/xml", "", "json"]
)
filler = st.text(max_size=120)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A body that may quote the token: raw text, an integrator.io envelope, a flat message or an HTML page."""
    before, after = draw(filler), draw(filler)
    quoted = draw(st.sampled_from([TOKEN, f"Bearer {TOKEN}", f"Authorization: Bearer {TOKEN}", ""]))
    shape = draw(st.sampled_from(["raw", "envelope", "flat", "html", "truncated", "bytes"]))
    if shape == "envelope":
        error = {
            "code": draw(filler),
            "message": f"{before}{quoted}{after}",
            "field": draw(st.sampled_from([quoted, "x"])),
        }
        text = json.dumps({"errors": [error]})
    elif shape == "flat":
        text = json.dumps({"message": f"{before}{quoted}", "code": quoted})
    elif shape == "html":
        text = f"<!DOCTYPE html><html><title>{before}</title><body>{quoted}{after}</body></html>"
    elif shape == "truncated":
        text = json.dumps({"message": f"{before}{quoted}{after}"})[: draw(st.integers(1, 60))]
    elif shape == "bytes":
        return draw(st.binary(max_size=60)) + quoted.encode() + draw(st.binary(max_size=60))
    else:
        text = f"{before}{quoted}{after}"
    return text.encode()


SCENARIOS_SEEN: set[str] = set()


@pytest.fixture(scope="module", autouse=True)
def examples_from_the_tests_alone() -> Any:
    """Keep the examples a function of these tests only, so every run tries the same answers.

    ``derandomize=True`` fixes Hypothesis's random stream, but Hypothesis (6.13x and later) also draws, now and
    then, constants it harvests from every *local* module loaded so far (``sys.modules``). Which modules those
    are depends on what else this pytest session ran and on edits anywhere in the checkout, so the examples
    (and the places scanned) changed from run to run. This turns that pool off for this module; with a
    Hypothesis that has no such pool (or renames it), there is nothing to turn off.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover
        yield
        return
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    if not callable(getattr(providers, "_get_local_constants", None)) or cache is None:
        yield  # pragma: no cover
        return
    original, empty = providers._get_local_constants, providers.Constants()
    cache.clear()  # allowed constants computed earlier in the session may hold local ones
    providers._get_local_constants = lambda: empty
    try:
        yield
    finally:
        providers._get_local_constants = original
        cache.clear()


def count_scenario(name: str) -> None:
    """Each fuzz test is one scenario of the secrets family (counted at its first example)."""
    if name not in SCENARIOS_SEEN:
        SCENARIOS_SEEN.add(name)
        FIGURES["secrets"].add_scenarios()


def place_of(test: str, status: int, content_type: str, body: bytes, error: BaseException) -> Any:
    """The exception raised for one answer, as one place named by the answer (the same answer, the same place)."""
    digest = hashlib.sha256(f"{status}|{content_type}|".encode() + body).hexdigest()[:16]
    return exception_place(f"fuzz:{test}:{digest}", error)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
@given(st.integers(400, 599), content_types, bodies())
def test_error_answers_become_provider_errors_without_the_token(status: int, content_type: str, body: bytes) -> None:
    count_scenario("error_answers")
    headers = {"content-type": content_type, "retry-after": "1"}
    with pytest.raises(CeligoApiError) as caught:
        raise_for_error_status(status=status, headers=headers, body=body, method="GET", path="/v1/x", secret=TOKEN)
    assert isinstance(caught.value, RetryableResponse) == (status in RETRYABLE_STATUSES)
    assert caught.value.status == status
    place = place_of("error", status, content_type, body, caught.value)
    assert scan_for_token(TOKEN, [place], "secrets") == []


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
@given(st.integers(200, 299), content_types, bodies())
def test_success_answers_decode_or_fail_without_the_token(status: int, content_type: str, body: bytes) -> None:
    count_scenario("success_answers")
    try:
        decode_body(
            status=status, headers={"content-type": content_type}, body=body, method="GET", path="/v1/x", secret=TOKEN
        )
    except CeligoApiError as error:
        assert scan_for_token(TOKEN, [place_of("success", status, content_type, body, error)], "secrets") == []
