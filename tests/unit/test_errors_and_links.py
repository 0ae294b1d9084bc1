"""The parsers: integrator.io error bodies, ``Link`` headers, ``Retry-After`` and 2xx bodies."""

from __future__ import annotations

import json
import pickle
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoNotFoundError, parse_error_body
from airflow_provider_celigo.hooks._transport.paging import next_link
from airflow_provider_celigo.hooks._transport.responses import decode_body, raise_for_error_status
from airflow_provider_celigo.hooks._transport.retry import RetryableResponse, is_retryable, parse_retry_after

# -- error bodies --------------------------------------------------------------------------------------------


def test_errors_envelope() -> None:
    body = (
        b'{"errors": [{"code": "invalid_ref", "message": "Flow not found", "field": "_flowId"}, {"message": "also"}]}'
    )
    code, message, field, errors = parse_error_body(body, "application/json")
    assert (code, message, field) == ("invalid_ref", "Flow not found; also", "_flowId")
    assert len(errors) == 2


def test_flat_message() -> None:
    assert parse_error_body('{"message": "Unauthorized", "code": "unauthorized"}') == (
        "unauthorized",
        "Unauthorized",
        None,
        [],
    )


def test_html_page_from_proxy() -> None:
    html = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
    code, message, field, _ = parse_error_body(html, "text/html")
    assert code == "" and field is None
    assert message.startswith("non-JSON (HTML) error page") and "502 Bad Gateway" in message and "<h1>" not in message


def test_truncated_json_and_empty_bodies() -> None:
    assert "unreadable" in parse_error_body(b'{"errors": [{"mess', "application/json")[1]
    assert parse_error_body(b"")[1] == "empty response body"
    assert parse_error_body(None)[1] == "empty response body"
    assert "unexpected error body" in parse_error_body(b"[1, 2]")[1]


def test_long_messages_are_clipped() -> None:
    message = parse_error_body('{"message": "' + "x" * 5000 + '"}')[1]
    assert len(message) <= 500 and message.endswith("...")


@given(st.binary(max_size=300))
def test_parse_error_body_never_raises(body: bytes) -> None:
    code, message, _, errors = parse_error_body(body)
    assert isinstance(code, str) and isinstance(message, str) and message and isinstance(errors, list)


# -- mapping answers to exceptions ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_final(status: int) -> None:
    with pytest.raises(CeligoApiError) as caught:
        raise_for_error_status(status=status, headers={}, body=b'{"message": "nope"}', method="GET", path="/v1/flows")
    assert not is_retryable(caught.value)
    assert (caught.value.status, caught.value.message, caught.value.method, caught.value.path) == (
        status,
        "nope",
        "GET",
        "/v1/flows",
    )


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_server_errors_and_429_are_retryable(status: int) -> None:
    with pytest.raises(RetryableResponse) as caught:
        raise_for_error_status(status=status, headers={"retry-after": "7"}, body=b"", method="PUT", path="/v1/x")
    assert is_retryable(caught.value) and caught.value.retry_after == 7.0


def test_api_error_text_and_pickling() -> None:
    error = CeligoApiError(status=422, method="POST", path="/v1/flows/1/run", code="disabled", message="Flow is off")
    assert str(error) == "integrator.io HTTP 422 disabled on POST /v1/flows/1/run: Flow is off"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status, copy.code, str(copy)) == (422, "disabled", str(error))
    assert "check the API token" in str(CeligoApiError(status=401, method="GET", path="/v1/tokenInfo"))


def test_decode_2xx_bodies() -> None:
    ok: dict[str, Any] = {"status": 200, "method": "GET", "path": "/v1/x"}
    assert decode_body(headers={"content-type": "application/json"}, body=b'{"a": 1}', **ok) == {"a": 1}
    assert decode_body(headers={}, body=b"[1]", **ok) == [1]
    assert decode_body(headers={"content-type": "text/plain"}, body=b"pong", **ok) == "pong"
    assert decode_body(headers={}, body=b"  ", **ok) is None
    assert decode_body(status=204, headers={}, body=b"", method="GET", path="/v1/x") is None


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        ("application/json", b'{"truncated": ', "invalid_json"),
        ("", b"[1, 2", "invalid_json"),
        ("text/html", b"<html><body>Login</body></html>", "unexpected_content"),
        ("application/octet-stream", b"\x00\x01", "unexpected_content"),
    ],
)
def test_decode_refuses_unreadable_2xx(content_type: str, body: bytes, code: str) -> None:
    with pytest.raises(CeligoApiError) as caught:
        decode_body(status=200, headers={"content-type": content_type}, body=body, method="GET", path="/v1/x")
    assert caught.value.code == code and caught.value.status == 200


# -- Link headers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('<https://api.integrator.io/v1/flows?page=2>; rel="next"', "https://api.integrator.io/v1/flows?page=2"),
        ('<https://a/v1/x?p=1>; rel="prev", <https://a/v1/x?p=3>; rel="next"', "https://a/v1/x?p=3"),
        ("<https://a/v1/x?p=3>; rel=next", "https://a/v1/x?p=3"),
        ('<https://a/v1/x?p=3>; title="x"; REL="prev next"', "https://a/v1/x?p=3"),
        ('<https://a/v1/x?p=1>; rel="prev"', None),
        ("", None),
        (None, None),
        ("garbage", None),
        ('<>; rel="next"', None),
    ],
)
def test_next_link(header: str | None, expected: str | None) -> None:
    assert next_link(header) == expected


@given(st.text(max_size=200))
def test_next_link_never_raises(header: str) -> None:
    result = next_link(header)
    assert result is None or isinstance(result, str)


# -- Retry-After ----------------------------------------------------------------------------------------------


def test_retry_after_forms() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (parse_retry_after(later) or 0) <= 31
    earlier = format_datetime(datetime.now(timezone.utc) - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier) == 0.0


@pytest.mark.parametrize("value", ["-3", "-0.5", "nan", "inf", "-inf", "1e999", "3 seconds", "", "   "])
def test_negative_or_unreadable_retry_after_is_no_hint(value: str) -> None:
    assert parse_retry_after(value) is None


@pytest.mark.parametrize("value", ["-3", "soon"])
def test_a_429_with_an_unusable_retry_after_carries_no_hint(value: str) -> None:
    with pytest.raises(RetryableResponse) as caught:
        raise_for_error_status(status=429, headers={"retry-after": value}, body=b"", method="GET", path="/v1/x")
    assert caught.value.retry_after is None


# -- 404 ------------------------------------------------------------------------------------------------------


def test_404_is_a_not_found_error() -> None:
    body = b'{"errors": [{"code": "invalid_ref", "message": "Flow not found"}]}'
    with pytest.raises(CeligoNotFoundError) as caught:
        raise_for_error_status(status=404, headers={}, body=body, method="GET", path="/v1/flows/x")
    error = caught.value
    assert isinstance(error, CeligoApiError) and not is_retryable(error)
    assert (error.status, error.code, error.message) == (404, "invalid_ref", "Flow not found")
    assert "check the id" in str(error)


def test_404_without_a_code_gets_not_found() -> None:
    with pytest.raises(CeligoNotFoundError) as caught:
        raise_for_error_status(status=404, headers={}, body=b"", method="GET", path="/v1/x")
    assert caught.value.code == "not_found"


def test_not_found_error_survives_pickling() -> None:
    error = CeligoNotFoundError(status=404, method="GET", path="/v1/flows/1", code="not_found", message="gone")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is CeligoNotFoundError
    assert (copy.status, copy.message, str(copy)) == (404, "gone", str(error))


# -- bodies nested too deeply to decode -----------------------------------------------------------------------

NESTED = b"[" * 100_000 + b"]" * 100_000


def test_deeply_nested_2xx_is_invalid_json() -> None:
    with pytest.raises(CeligoApiError) as caught:
        decode_body(status=200, headers={"content-type": "application/json"}, body=NESTED, method="GET", path="/v1/x")
    assert caught.value.code == "invalid_json" and "nested too deeply" in caught.value.message


@pytest.mark.parametrize("status", [500, 503])
def test_deeply_nested_5xx_stays_retryable(status: int) -> None:
    with pytest.raises(RetryableResponse) as caught:
        raise_for_error_status(
            status=status, headers={"content-type": "application/json"}, body=NESTED, method="GET", path="/v1/x"
        )
    assert is_retryable(caught.value) and "nested too deeply" in caught.value.message


def test_deeply_nested_404_is_still_not_found() -> None:
    with pytest.raises(CeligoNotFoundError):
        raise_for_error_status(status=404, headers={}, body=NESTED, method="GET", path="/v1/x")


# -- the token, in any form, never reaches a message -----------------------------------------------------------

SECRET = "t0k/en+with=odd&chars"


def _forms(secret: str) -> list[str]:
    escaped = json.dumps(secret)[1:-1]
    return [
        secret,
        escaped.replace("/", "\\/"),
        "".join(f"\\u{ord(c):04x}" for c in secret),
        "".join(f"\\u{ord(c):04X}" if not c.isalnum() else c for c in secret),
        quote(secret, safe=""),
        quote(secret, safe="").lower(),
        quote_plus(secret),
        secret.replace("&", "&amp;").replace("/", "&#47;"),
    ]


@pytest.mark.parametrize("form", _forms(SECRET))
def test_error_messages_never_quote_the_token_in_any_form(form: str) -> None:
    body = (
        '{"errors": [{"code": "bad", "message": "Bearer ' + form + ' rejected", "field": "' + form + '"}]}'
    ).encode()
    with pytest.raises(CeligoApiError) as caught:
        raise_for_error_status(status=401, headers={}, body=body, method="GET", path="/v1/x", secret=SECRET)
    shown = str(caught.value) + repr(caught.value.errors) + str(caught.value.field)
    assert "Bearer *** rejected" in caught.value.message
    for any_form in _forms(SECRET):
        assert any_form not in shown


@pytest.mark.parametrize("form", _forms(SECRET))
def test_unexpected_2xx_snippets_never_quote_the_token(form: str) -> None:
    body = f"<html><body>Login as {form} failed</body></html>".encode()
    with pytest.raises(CeligoApiError) as caught:
        decode_body(
            status=200, headers={"content-type": "text/html"}, body=body, method="GET", path="/v1/x", secret=SECRET
        )
    assert caught.value.code == "unexpected_content" and "Login as *** failed" in caught.value.message
    for any_form in _forms(SECRET):
        assert any_form not in str(caught.value)
