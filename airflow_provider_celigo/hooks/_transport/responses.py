"""Reading responses: the provider's error for an error status or no response, and the decoded body of a 2xx.

Every text quoted from a body (an error message, a snippet of an unreadable answer) has the API token blanked
out first, in every form it can take there (``clients.redact``).
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
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
    error_chain,
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


@contextmanager
def not_found_means(what: str | None) -> Iterator[None]:
    """Within the block, re-raise a CeligoNotFoundError led by ``what`` (e.g. "flow X does not exist");
    unchanged when ``what`` is None."""
    try:
        yield
    except CeligoNotFoundError as error:
        if what is None:
            raise
        raise explain_not_found(error, what) from None


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
    for item in error_chain(error):
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
    return None


def decode_response(response: Any, *, method: str, path: str, secret: str) -> Any:
    """Return the decoded body of a 2xx ``requests`` or ``httpx`` response; raises as ``decode_body``."""
    where = {"method": method, "path": path, "secret": secret}
    return decode_body(status=response.status_code, headers=response.headers, body=response.content, **where)


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
    where: dict[str, Any] = {"status": status, "method": method, "path": path}
    stripped = body.lstrip()[:1]
    if "json" in content_type or stripped in (b"{", b"["):
        try:
            return json.loads(body)
        except RecursionError:
            reason = "nested too deeply to decode"
        except ValueError:
            reason = "truncated or corrupted"
        raise CeligoApiError(
            code="invalid_json", message=f"the response is not valid JSON ({reason}, {len(body)} bytes)", **where
        )
    if content_type.startswith("text/plain"):
        return body.decode("utf-8", errors="replace")
    _, message, _, _ = _read_error_body(body, content_type, secret)
    what = f"expected JSON, got {content_type or 'no content type'}: {message}"
    raise CeligoApiError(code="unexpected_content", message=what, **where)


def request_target(error: BaseException, base_url: str) -> str:
    """Return the ``host:port`` a failed request went to: the error's own request URL, else ``base_url``'s.

    The port is the URL's, else the scheme's default (443 for https, 80 for http). Never raises.
    """
    url = base_url
    try:
        request = getattr(error, "request", None)  # requests and httpx errors carry the request they failed on
    except RuntimeError:  # httpx: an error raised without a request
        request = None
    request_url = getattr(request, "url", None)
    if request_url:
        url = str(request_url)
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # an unreadable port
        return urlsplit(base_url).netloc
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _connect_timed_out(chain: list[BaseException]) -> bool:
    names = {"ConnectTimeout", "ConnectTimeoutError"}  # requests/httpx, urllib3 (NewConnectionError is one too)
    return any(type(item).__name__ in names for item in chain) and not any(
        type(item).__name__ == "NewConnectionError" for item in chain
    )


def _tls_reason(item: BaseException) -> str:
    return getattr(item, "reason", None) or getattr(item, "strerror", None) or type(item).__name__


def _dropped(item: BaseException) -> bool:
    names = {"RemoteDisconnected", "RemoteProtocolError", "ProtocolError"}  # http.client, httpx, urllib3
    return isinstance(item, (ConnectionResetError, BrokenPipeError)) or type(item).__name__ in names


# What a network failure in an error's chain means, tried in this order:
# (does the item match, its cause, whether a connection was made, what to check).
_NETWORK_FAILURES: tuple[tuple[Callable[[BaseException], bool], Callable[[BaseException], str], bool, str], ...] = (
    (
        lambda item: isinstance(item, socket.gaierror),
        lambda item: f"DNS lookup failed: {getattr(item, 'strerror', None) or item}",
        False,
        "check the host name in the connection's region/base_url and this machine's DNS",
    ),
    (
        lambda item: isinstance(item, ssl.SSLError),
        lambda item: f"TLS handshake failed: {_tls_reason(item)}",
        False,
        "check that the connection's base_url scheme matches the server (https to a plain-http port fails "
        "this way) and any TLS-intercepting proxy",
    ),
    (
        lambda item: isinstance(item, ConnectionRefusedError),
        lambda item: "connection refused",
        False,
        "nothing listens there: check the connection's region/base_url and the network",
    ),
    (
        _dropped,
        lambda item: "the connection was dropped before a complete answer",
        True,
        "the API or a proxy on the way closed the connection; check the network",
    ),
)


def unreachable_cause(error: BaseException, *, timed_out: bool, timeout: float) -> tuple[str, bool, str]:
    """Return ``(cause, reached, advice)`` for a request that got no answer (a requests or httpx error).

    ``cause`` says what happened at the network level ("connection refused", "DNS lookup failed: ...",
    "TLS handshake failed: ...", "timed out ..."), ``reached`` whether a connection was made at all, and
    ``advice`` what to check. Never raises.
    """
    chain = error_chain(error)
    if timed_out:
        if _connect_timed_out(chain):
            return (
                f"timed out connecting, no answer within {timeout:g}s",
                False,
                "check the connection's region/base_url, and that a firewall or proxy lets this machine reach it",
            )
        return (
            f"timed out: no complete answer within {timeout:g}s",
            True,
            "the API or the network is slow; raise the connection extra timeout, or check the network",
        )
    for matches, describe, reached, advice in _NETWORK_FAILURES:
        for item in chain:
            if matches(item):
                return describe(item), reached, advice
    innermost = chain[-1] if chain else error
    errno = f" errno {innermost.errno}" if isinstance(innermost, OSError) and innermost.errno else ""
    return (
        f"network error: {type(innermost).__name__}{errno}",
        False,
        "check the connection's region/base_url and the network",
    )


def no_response(
    error: BaseException, *, timed_out: bool, settings: CeligoSettings, method: str, path: str
) -> CeligoApiError:
    """Return the provider's error for a request that got no usable response (requests or httpx error).

    A timeout (the whole call, connect to last byte, outlasting the connection's ``timeout``), a refused or
    broken connection, a DNS or TLS handshake failure is a retryable ``TransportError`` naming the
    ``host:port`` tried and the cause; an untrusted certificate is a non-retryable ``CeligoApiError``.
    """
    tls = None if timed_out else certificate_error(error, method=method, path=path, base_url=settings.base_url)
    if tls is not None:
        return tls
    cause, reached, advice = unreachable_cause(error, timed_out=timed_out, timeout=settings.timeout)
    return TransportError(
        status=0,
        method=method,
        path=path,
        code="timeout" if timed_out else "connection_error",
        message=cause,
        target=request_target(error, settings.base_url),
        cause=cause,
        reached=reached,
        hint=advice,
    )


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
