"""Checks of operator and hook arguments, each failing with a message that names the fix."""

from __future__ import annotations

import re
from typing import Any

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
