"""Property-based tests: arbitrary input to the parsers never raises anything but the provider's own errors."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_celigo.exceptions import CeligoError, parse_error_body
from airflow_provider_celigo.hooks._transport.paging import next_link
from airflow_provider_celigo.hooks._transport.retry import parse_retry_after
from airflow_provider_celigo.jobs.status import KNOWN_STATUSES, summarize

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
job_like = st.fixed_dictionaries(
    {},
    optional={
        "_id": st.text(max_size=30) | st.integers(),
        "status": st.sampled_from(sorted(KNOWN_STATUSES)) | st.text(max_size=10) | st.none(),
        "numSuccess": st.integers() | st.text(max_size=5) | st.floats(allow_nan=False),
        "numError": st.integers() | st.none() | st.booleans(),
        "startedAt": st.text(max_size=30) | st.datetimes().map(lambda d: d.isoformat() + "Z"),
        "endedAt": st.text(max_size=30) | st.datetimes().map(lambda d: d.isoformat() + "Z"),
        "_flowId": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300) | json_values.map(json.dumps), st.text(max_size=40) | st.none())
def test_error_body_parser_never_raises(body: Any, content_type: str | None) -> None:
    code, message, field, errors = parse_error_body(body, content_type)
    assert isinstance(code, str) and isinstance(message, str) and message
    assert field is None or isinstance(field, str)
    assert isinstance(errors, list)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.none())
def test_link_parser_never_raises(header: str | None) -> None:
    url = next_link(header)
    assert url is None or isinstance(url, str)


@given(st.text(max_size=40, alphabet="<>;,= \"'abcnextrelprev:/?&.0123456789"))
def test_link_parser_finds_next_only_when_marked(header: str) -> None:
    url = next_link(header)
    if url is not None:
        assert "next" in header.lower()


@settings(max_examples=300, deadline=None)
@given(json_values | job_like)
def test_job_summariser_raises_only_provider_errors(document: Any) -> None:
    try:
        summary = summarize(document)
    except CeligoError:
        return
    assert summary["status"] in KNOWN_STATUSES
    json.dumps(summary)


@given(st.text(max_size=40) | st.none())
def test_retry_after_parser_never_raises(value: str | None) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or seconds >= 0


def test_known_link_shapes() -> None:
    assert next_link('<https://api.integrator.io/v1/flows?after=abc>; rel="next"') == (
        "https://api.integrator.io/v1/flows?after=abc"
    )
    both = '<https://h/v1/x?after=1>; rel="prev", <https://h/v1/x?after=3>; rel="next"'
    assert next_link(both) == "https://h/v1/x?after=3"
    assert next_link('<https://h/v1/x?after=1>; rel="prev"') is None
    assert next_link("<https://h/v1/x?after=9>; rel=next") == "https://h/v1/x?after=9"
