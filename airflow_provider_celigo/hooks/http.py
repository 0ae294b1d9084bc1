"""What the sync and async hooks share: connection settings, URLs, headers, and reading answers."""

from __future__ import annotations

import json
import platform
import ssl
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_celigo import __version__
from airflow_provider_celigo.errors import CeligoApiError, CeligoConfigError, parse_error_body
from airflow_provider_celigo.pacing import pacer_for
from airflow_provider_celigo.retries import RETRYABLE_STATUSES, RetryableResponse, TransportError, parse_retry_after
from airflow_provider_celigo.settings import CeligoSettings


@lru_cache(maxsize=1)
def user_agent() -> str:
    """Return the User-Agent: provider, Airflow and Python versions."""
    try:
        from importlib.metadata import version

        airflow_version = version("apache-airflow")
    except Exception:
        airflow_version = "unknown"
    return f"airflow-provider-celigo/{__version__} apache-airflow/{airflow_version} python/{platform.python_version()}"


@lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """Return one verifying TLS context per process for the async clients.

    Building one loads the CA bundle (~0.8 MB of memory each); a triggerer watching many jobs shares it.
    """
    import httpx

    return httpx.create_ssl_context()


def auth_headers(settings: CeligoSettings) -> dict[str, str]:
    """Return the headers sent with every request (Bearer auth, JSON, User-Agent)."""
    return {
        "Authorization": f"Bearer {settings.token}",
        "Accept": "application/json",
        "User-Agent": user_agent(),
    }


def mask_token(token: str) -> None:
    """Register the token with Airflow's secret masker so it is redacted from every log line."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow 2 layout
        from airflow.utils.log.secrets_masker import mask_secret  # type: ignore[no-redef]
    mask_secret(token)


def build_url(settings: CeligoSettings, path: str) -> str:
    """Return the absolute URL for an API path, or check that an absolute URL (a ``Link``) stays on the API host.

    Raises CeligoConfigError when an absolute URL points at another host: the token must not travel there.
    """
    if path.startswith(("http://", "https://")):
        target, base = urlsplit(path), urlsplit(settings.base_url)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise CeligoConfigError(
                f"refusing to follow a link to {target.scheme}://{target.netloc}: it is not the connection's "
                f"API host {base.scheme}://{base.netloc}, and the API token would be sent there"
            )
        return path
    return f"{settings.base_url}/{path.lstrip('/')}"


def display_path(settings: CeligoSettings, url: str) -> str:
    """Return the path of a URL relative to the API root, for messages (no host, no query)."""
    path = urlsplit(url).path
    root = urlsplit(settings.base_url).path
    return "/v1" + path[len(root) :] if path.startswith(root) else path


def raise_for_answer(
    *, status: int, headers: Mapping[str, str], body: bytes, method: str, path: str, secret: str = ""
) -> None:
    """Raise the provider's error for a non-2xx answer: RetryableResponse for 429/5xx, CeligoApiError otherwise.

    ``secret`` (the API token) is blanked out of the body first, in case a server or proxy echoes it back.
    """
    if status < 400:
        return
    if secret:
        body = body.replace(secret.encode(), b"***")
    code, message, field, errors = parse_error_body(body, headers.get("content-type"))
    details: dict[str, Any] = {"status": status, "method": method, "path": path, "code": code, "message": message}
    if status in RETRYABLE_STATUSES:
        raise RetryableResponse(
            retry_after=parse_retry_after(headers.get("retry-after")), field=field, errors=errors, **details
        )
    raise CeligoApiError(field=field, errors=errors, **details)


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
    """Return the decoded body of a 2xx answer: JSON, text for ``text/plain``, None when empty.

    Raises CeligoApiError when the body claims or looks like JSON but is not, or is an HTML page. The error
    quotes the start of such a body, with ``secret`` (the API token) blanked out as in ``raise_for_answer``.
    """
    if status == 204 or not body.strip():
        return None
    content_type = (headers.get("content-type") or "").lower()
    stripped = body.lstrip()[:1]
    if "json" in content_type or stripped in (b"{", b"["):
        try:
            return json.loads(body)
        except ValueError:
            raise CeligoApiError(
                status=status,
                method=method,
                path=path,
                code="invalid_json",
                message=f"the answer is not valid JSON (truncated or corrupted, {len(body)} bytes)",
            ) from None
    if content_type.startswith("text/plain"):
        return body.decode("utf-8", errors="replace")
    _, message, _, _ = parse_error_body(body.replace(secret.encode(), b"***") if secret else body, content_type)
    raise CeligoApiError(
        status=status,
        method=method,
        path=path,
        code="unexpected_content",
        message=f"expected JSON, got {content_type or 'no content type'}: {message}",
    )


def no_answer(
    error: BaseException, *, timed_out: bool, settings: CeligoSettings, method: str, path: str
) -> CeligoApiError:
    """Return the provider's error for a request that got no usable answer (requests or httpx error).

    A timeout or a broken connection is a retryable ``TransportError``; an untrusted certificate is not.
    """
    if timed_out:
        return TransportError(
            status=0, method=method, path=path, code="timeout", message=f"no answer within {settings.timeout:g}s"
        )
    tls = certificate_error(error, method=method, path=path, base_url=settings.base_url)
    if tls is not None:
        return tls
    return TransportError(status=0, method=method, path=path, code="connection_error", message=type(error).__name__)


def judge_answer(
    settings: CeligoSettings, *, status: int, headers: Mapping[str, str], body: bytes, method: str, path: str
) -> None:
    """Raise the provider's error for an error answer; a 429 also pauses the connection's pacer."""
    if status == 429:
        pacer_for(settings.concurrency_owner).pause(
            parse_retry_after(headers.get("retry-after")), cap=settings.max_retry_wait
        )
    raise_for_answer(status=status, headers=headers, body=body, method=method, path=path, secret=settings.token)
