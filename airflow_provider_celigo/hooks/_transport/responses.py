"""Reading responses: the provider's error for an error status or no response, and the decoded body of a 2xx.

Every text quoted from a body (an error message, a snippet of an unreadable answer) has the API token blanked
out first, in every form it can take there (``clients.redact``).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_celigo.connection import CeligoSettings
from airflow_provider_celigo.exceptions import CeligoApiError, CeligoNotFoundError, parse_error_body
from airflow_provider_celigo.hooks._transport.clients import redact
from airflow_provider_celigo.hooks._transport.pacing import pacer_for, pacing_enabled
from airflow_provider_celigo.hooks._transport.retry import (
    RETRYABLE_STATUSES,
    RetryableResponse,
    TransportError,
    parse_retry_after,
)


def _read_error_body(body: bytes, content_type: str | None, secret: str) -> tuple[str, str, str | None, list]:
    """Return ``parse_error_body``'s ``(code, message, field, errors)`` with ``secret`` blanked out. Never raises."""
    try:
        code, message, field, errors = parse_error_body(redact(body, secret), content_type)
    except RecursionError:  # json.loads (or json.dumps) of a body nested thousands of levels deep
        return "", f"unreadable body: JSON nested too deeply ({len(body)} bytes)", None, []
    # The body was blanked before parsing; decoding its JSON escapes could still spell the token out.
    return redact(code, secret), redact(message, secret), redact(field, secret) if field else field, errors


def raise_for_error_status(
    *, status: int, headers: Mapping[str, str], body: bytes, method: str, path: str, secret: str = ""
) -> None:
    """Raise the provider's error for a non-2xx response; return None for a status under 400.

    Raises RetryableResponse for 429/5xx (with the ``Retry-After`` hint), CeligoNotFoundError for 404 and
    CeligoApiError otherwise. ``secret`` (the API token) is blanked out of everything quoted from the body,
    in case a server or proxy echoes it back.
    """
    if status < 400:
        return
    code, message, field, errors = _read_error_body(body, headers.get("content-type"), secret)
    details: dict[str, Any] = {"status": status, "method": method, "path": path, "code": code, "message": message}
    if status in RETRYABLE_STATUSES:
        raise RetryableResponse(
            retry_after=parse_retry_after(headers.get("retry-after")), field=field, errors=errors, **details
        )
    if status == 404:
        raise CeligoNotFoundError(field=field, errors=errors, **{**details, "code": code or "not_found"})
    raise CeligoApiError(field=field, errors=errors, **details)


def explain_not_found(error: CeligoNotFoundError, what: str) -> CeligoNotFoundError:
    """Return a copy of a 404 error whose message starts with ``what`` (e.g. "flow X does not exist")."""
    return CeligoNotFoundError(
        status=error.status,
        method=error.method,
        path=error.path,
        code=error.code or "not_found",
        message=f"{what} ({error.message})",
        field=error.field,
        errors=error.errors,
    )


def certificate_error(error: BaseException, *, method: str, path: str, base_url: str) -> CeligoApiError | None:
    """Return a non-retryable error when ``error`` (requests or httpx) comes from a failed TLS certificate check.

    A certificate the client does not trust fails the same way on every attempt, so it is not retried; other
    TLS errors (a handshake cut short) stay transport errors, which are retried.
    """
    seen: set[int] = set()
    pending: list[Any] = [error]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError):
            host = urlsplit(base_url).netloc
            return CeligoApiError(
                status=0,
                method=method,
                path=path,
                code="tls_error",
                message=(
                    f"TLS certificate verification failed for {host} ({item.verify_message or item.reason}). "
                    "Use a host whose certificate this machine trusts (a private CA goes in REQUESTS_CA_BUNDLE and "
                    "SSL_CERT_FILE), or set the connection extra verify_ssl to false for a host you trust"
                ),
            )
        pending.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])
    return None


def decode_body(
    *, status: int, headers: Mapping[str, str], body: bytes, method: str, path: str, secret: str = ""
) -> Any:
    """Return the decoded body of a 2xx response: JSON, text for ``text/plain``, None when empty.

    Raises CeligoApiError ``invalid_json`` when the body claims or looks like JSON but is not (or is nested
    too deeply to decode), ``unexpected_content`` for an HTML page or another type. The error quotes the start
    of such a body, with ``secret`` (the API token) blanked out as in ``raise_for_error_status``.
    """
    if status == 204 or not body.strip():
        return None
    content_type = (headers.get("content-type") or "").lower()
    stripped = body.lstrip()[:1]
    if "json" in content_type or stripped in (b"{", b"["):
        try:
            return json.loads(body)
        except RecursionError:
            reason = "nested too deeply to decode"
        except ValueError:
            reason = "truncated or corrupted"
        raise CeligoApiError(
            status=status,
            method=method,
            path=path,
            code="invalid_json",
            message=f"the response is not valid JSON ({reason}, {len(body)} bytes)",
        )
    if content_type.startswith("text/plain"):
        return body.decode("utf-8", errors="replace")
    _, message, _, _ = _read_error_body(body, content_type, secret)
    raise CeligoApiError(
        status=status,
        method=method,
        path=path,
        code="unexpected_content",
        message=f"expected JSON, got {content_type or 'no content type'}: {message}",
    )


def no_response(
    error: BaseException, *, timed_out: bool, settings: CeligoSettings, method: str, path: str
) -> CeligoApiError:
    """Return the provider's error for a request that got no usable response (requests or httpx error).

    A timeout (the whole call, connect to last byte, outlasting the connection's ``timeout``) or a broken
    connection is a retryable ``TransportError``; an untrusted certificate is not.
    """
    if timed_out:
        return TransportError(
            status=0,
            method=method,
            path=path,
            code="timeout",
            message=f"no complete answer within {settings.timeout:g}s",
        )
    tls = certificate_error(error, method=method, path=path, base_url=settings.base_url)
    if tls is not None:
        return tls
    return TransportError(status=0, method=method, path=path, code="connection_error", message=type(error).__name__)


def raise_for_status(
    settings: CeligoSettings, *, status: int, headers: Mapping[str, str], body: bytes, method: str, path: str
) -> None:
    """Raise the provider's error for an error response (see ``raise_for_error_status``); None under 400.

    A 429 also pauses the connection's pacer, unless ``[celigo] pace_after_429`` is off.
    """
    if status == 429 and pacing_enabled():
        pacer_for(settings.concurrency_owner).pause(
            parse_retry_after(headers.get("retry-after")), cap=settings.max_retry_wait
        )
    raise_for_error_status(status=status, headers=headers, body=body, method=method, path=path, secret=settings.token)
