"""What every request carries: the User-Agent, the Bearer header, one TLS context, the token's masking."""

from __future__ import annotations

import platform
import ssl
from functools import lru_cache

from airflow_provider_celigo import __version__
from airflow_provider_celigo.connection import CeligoSettings


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
