"""Account users ("ashares"): the records every account starts with, and validation of invites and updates.

Shapes from Celigo's managing-users schemas (``celigo/ai`` ``skills/managing-users``, confidence H): an ashare
is ``{_id, accessLevel?, integrationAccessLevel: [{_integrationId, accessLevel}], accepted, dismissed, disabled,
sharedWithUser: {_id, email, name}, createdAt, lastModified}``; the account owner is not listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from airflow_provider_celigo.user_fields import ACCESS_LEVELS, INTEGRATION_ACCESS_LEVELS, USER_WRITABLE_FIELDS

from .errors import unprocessable
from .ids import iso, stable_id

__all__ = ["access_fields", "checked_email", "seed_users"]

Doc = dict[str, Any]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SEED_TIME = iso(1_767_225_600.0)  # 2026-01-01


def seed_users(account_id: str) -> dict[str, Doc]:
    """Return the users every emulated account starts with: an administrator and a monitor, both accepted."""
    users = [("ops-admin", "Ops Admin", "administrator"), ("night-monitor", "Night Monitor", "monitor")]
    shares: dict[str, Doc] = {}
    for handle, name, level in users:
        share_id = stable_id(f"ashare:{account_id}:{handle}")
        shares[share_id] = {
            "_id": share_id,
            "accessLevel": level,
            "integrationAccessLevel": [],
            "accepted": True,
            "dismissed": False,
            "disabled": False,
            "sharedWithUser": {
                "_id": stable_id(f"user:{handle}"),
                "email": f"{handle}@example.com",
                "name": name,
            },
            "createdAt": _SEED_TIME,
            "lastModified": _SEED_TIME,
        }
    return shares


def access_fields(body: Doc, integration_exists: Callable[[object], bool]) -> Doc:
    """Return the writable fields of an invite or update body, checked.

    ``integration_exists(id)`` tells whether an integration exists. Raises ApiError 422 for an unknown
    ``accessLevel``, a malformed ``integrationAccessLevel`` or an unknown integration in it.
    """
    fields = {key: body[key] for key in USER_WRITABLE_FIELDS if key in body}
    level = fields.get("accessLevel")
    if level is not None and level not in ACCESS_LEVELS:
        raise unprocessable(
            "invalid_access_level", f"accessLevel must be one of {', '.join(ACCESS_LEVELS)}.", "accessLevel"
        )
    grants = fields.get("integrationAccessLevel", [])
    if not isinstance(grants, list):
        raise unprocessable("invalid_access_level", "integrationAccessLevel must be a list.", "integrationAccessLevel")
    for grant in grants:
        if not isinstance(grant, dict) or grant.get("accessLevel") not in INTEGRATION_ACCESS_LEVELS:
            raise unprocessable(
                "invalid_access_level",
                "each integrationAccessLevel entry is {_integrationId, accessLevel: manage|monitor}.",
                "integrationAccessLevel",
            )
        if not integration_exists(grant.get("_integrationId")):
            raise unprocessable(
                "invalid_ref", f"Integration {grant.get('_integrationId')!r} not found.", "integrationAccessLevel"
            )
    fields.setdefault("integrationAccessLevel", [])
    return fields


def checked_email(body: Doc) -> str:
    """Return the invite's ``email``. Raises ApiError 422 when it is missing or not an address."""
    email = body.get("email")
    if not isinstance(email, str) or not _EMAIL.match(email):
        raise unprocessable("invalid_email", "email is required and must be an e-mail address.", "email")
    return email
