"""Checks of operator and hook arguments, each failing with a message that names the fix."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from airflow_provider_celigo.exceptions import CeligoConfigError

_OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


def check_id(value: Any, what: str = "id") -> str:
    """Return ``value`` if it is a 24-hex integrator.io id; raises CeligoConfigError otherwise."""
    text = value.strip().lower() if isinstance(value, str) else value
    if not isinstance(text, str) or not _OBJECT_ID.match(text):
        raise CeligoConfigError(
            f"{what} {value!r} is not an integrator.io id: ids are 24 hexadecimal characters, "
            "e.g. '5f1a2b3c4d5e6f7a8b9c0d1e' (copy it from the resource's URL in integrator.io)."
        )
    return text


def path_segment(value: Any, what: str, fix: str) -> str:
    """Return ``value`` percent-quoted as exactly one URL path segment (``/ ? # %`` and spaces are quoted).

    Raises CeligoConfigError naming ``what`` and ``fix`` for a value that is not a non-empty string, or that is
    ``.`` or ``..``: quoting leaves dots alone, and HTTP clients collapse those segments, so that
    ``PUT /v1/flows/F/state/..`` would be sent as ``PUT /v1/flows/F`` (replacing the flow).
    """
    if not isinstance(value, str) or not value:
        raise CeligoConfigError(f"{what} must be a non-empty string, got {value!r}; {fix}")
    if value in (".", ".."):
        raise CeligoConfigError(
            f"{what} {value!r} cannot be used: HTTP clients collapse a {value!r} path segment, so the request "
            f"would reach another resource; {fix}"
        )
    return quote(value, safe="")
