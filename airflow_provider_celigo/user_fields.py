"""What integrator.io documents about account users (``/ashares``): the access levels and the writable fields.

Shared by the hook, which checks arguments against them, and the emulator, which enforces them as the
server does (Celigo's managing-users schemas).
"""

from __future__ import annotations

__all__ = ["ACCESS_LEVELS", "INTEGRATION_ACCESS_LEVELS", "USER_OPTIONS", "USER_WRITABLE_FIELDS"]

ACCESS_LEVELS = ("administrator", "manage", "monitor")
INTEGRATION_ACCESS_LEVELS = ("manage", "monitor")
# The fields of a user record that an invite or a PUT /ashares/{id} sets; the rest is the server's.
USER_WRITABLE_FIELDS = (
    "accessLevel",
    "integrationAccessLevel",
    "accountMFARequired",
    "accountSSORequired",
    "allowAccessToAPIM",
    "allowToEditRetryData",
)
# The account-wide switches among them (an invite's or update's options).
USER_OPTIONS = USER_WRITABLE_FIELDS[2:]
