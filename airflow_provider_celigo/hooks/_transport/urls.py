"""Where a request goes: absolute URLs from API paths, links kept on the API host, paths for messages."""

from __future__ import annotations

from urllib.parse import urlsplit

from airflow_provider_celigo.connection import CeligoSettings
from airflow_provider_celigo.exceptions import CeligoConfigError


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
