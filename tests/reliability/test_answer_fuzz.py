"""Fuzzed answers, the one gap left by ``tests/unit/test_parsers_fuzz.py``: the whole answer-to-error path.

``raise_for_error_status`` (error statuses) and ``decode_body`` (2xx bodies) get arbitrary statuses, content types and
bodies, some of which quote the API token (a proxy or server echoing the request). They return or raise only the
provider's ``CeligoApiError``, retryable exactly for 429 and 5xx, and the token is never in what they raise.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from report import FIGURES, scan_for_token

from airflow_provider_celigo.exceptions import CeligoApiError
from airflow_provider_celigo.hooks._transport.responses import decode_body, raise_for_error_status
from airflow_provider_celigo.hooks._transport.retry import RETRYABLE_STATUSES, RetryableResponse

TOKEN = secrets.token_hex(16)  # integrator.io tokens are 32 hex characters
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


def texts(error: BaseException) -> dict[str, str]:
    return {"str": str(error), "repr": repr(error), "args": repr(error.args), "vars": repr(vars(error))}


@pytest.fixture(scope="module", autouse=True)
def counted() -> Any:
    FIGURES["secrets"].scenarios += 2
    yield


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(400, 599), content_types, bodies())
def test_error_answers_become_provider_errors_without_the_token(status: int, content_type: str, body: bytes) -> None:
    headers = {"content-type": content_type, "retry-after": "1"}
    with pytest.raises(CeligoApiError) as caught:
        raise_for_error_status(status=status, headers=headers, body=body, method="GET", path="/v1/x", secret=TOKEN)
    assert isinstance(caught.value, RetryableResponse) == (status in RETRYABLE_STATUSES)
    assert caught.value.status == status
    assert scan_for_token(TOKEN, texts(caught.value), "secrets") == []


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(200, 299), content_types, bodies())
def test_success_answers_decode_or_fail_without_the_token(status: int, content_type: str, body: bytes) -> None:
    try:
        decode_body(
            status=status, headers={"content-type": content_type}, body=body, method="GET", path="/v1/x", secret=TOKEN
        )
    except CeligoApiError as error:
        assert scan_for_token(TOKEN, texts(error), "secrets") == []
