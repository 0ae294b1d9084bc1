"""Account users: ``GET /v1/ashares``, ``PUT|DELETE /v1/ashares/{id}``, ``PUT .../disable|reinvite``,
``POST /v1/invite`` and ``GET /v1/integrations/{id}/ashares``.

Paths: UI requestOptions, BATON and Celigo's managing-users skill (confidence H); 409 on inviting a member
(managing-users, M). ``PUT .../disable`` toggles, as the UI's switch sends no body. Field rules: ``users.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from airflow_provider_celigo.user_fields import USER_WRITABLE_FIELDS

from ..audit import field_changes
from ..body import read_object
from ..deps import Doc, account_of, emulator_of, require_doc
from ..errors import ApiError, not_found
from ..ids import iso, new_id, stable_id
from ..paging import list_response
from ..store import AccountStore
from ..users import access_fields, checked_email

__all__ = ["router"]

router = APIRouter()
MODEL = "Ashare"


def _share(store: AccountStore, share_id: str) -> Doc:
    share = store.ashares.get(share_id)
    if share is None:
        raise not_found("user", share_id)
    return share


def _write(request: Request, store: AccountStore, share: Doc, event: str, old: Doc | None = None) -> Doc:
    """Store a changed record (new ``lastModified``), record it in the audit log and return it."""
    now = emulator_of(request).now()
    share["lastModified"] = iso(now)
    store.ashares[share["_id"]] = share
    changes = field_changes(old, share) if old is not None else []
    store.audit.record(MODEL, share["_id"], event, now, changes)
    return share


def _exists(store: AccountStore) -> Callable[[object], bool]:
    """Return the test ``access_fields`` uses: does an integration with this id exist?"""
    return lambda rid: isinstance(rid, str) and store.get("integrations", rid) is not None


@router.get("/v1/ashares")
async def list_users(request: Request) -> Response:
    """Return a page of the account's users (the owner is not listed)."""
    store = account_of(request)
    return list_response(request, list(store.ashares.values()), emulator_of(request).config.page_size)


@router.get("/v1/ashares/{share_id}")
async def get_user(share_id: str, request: Request) -> JSONResponse:
    """Return one user record; 404 when unknown."""
    return JSONResponse(_share(account_of(request), share_id))


@router.put("/v1/ashares/{share_id}")
async def update_user(share_id: str, request: Request) -> JSONResponse:
    """Replace a user's access fields (omitted ones are erased, as a PUT does); 200 with the record; 422 if bad."""
    store = account_of(request)
    old = _share(store, share_id)
    fields = access_fields(await read_object(request), _exists(store))
    share = {key: value for key, value in copy.deepcopy(old).items() if key not in USER_WRITABLE_FIELDS}
    share.update(fields)
    return JSONResponse(_write(request, store, share, "update", old))


@router.delete("/v1/ashares/{share_id}")
async def delete_user(share_id: str, request: Request) -> Response:
    """Remove a user from the account; 204; 404 when unknown."""
    store = account_of(request)
    _share(store, share_id)
    del store.ashares[share_id]
    store.audit.record(MODEL, share_id, "delete", emulator_of(request).now())
    return Response(status_code=204)


@router.put("/v1/ashares/{share_id}/disable")
async def toggle_user(share_id: str, request: Request) -> JSONResponse:
    """Flip a user's ``disabled`` flag (the UI's switch calls this both ways); 200 with the record."""
    store = account_of(request)
    old = _share(store, share_id)
    share = copy.deepcopy(old)
    share["disabled"] = not bool(old.get("disabled"))
    return JSONResponse(_write(request, store, share, "update", old))


@router.put("/v1/ashares/{share_id}/reinvite")
async def reinvite_user(share_id: str, request: Request) -> JSONResponse:
    """Send a pending invitation again; 200 with the record; 422 when the user already accepted."""
    store = account_of(request)
    share = _share(store, share_id)
    if share.get("accepted"):
        raise ApiError(422, "already_accepted", "This user has already accepted the invitation.")
    return JSONResponse(share)


@router.post("/v1/invite")
async def invite_user(request: Request) -> JSONResponse:
    """Invite a user by e-mail; 201 with the new (not yet accepted) record; 409 when already a member."""
    store = account_of(request)
    body = await read_object(request)
    email = checked_email(body)
    fields = access_fields(body, _exists(store))
    if any(str(s["sharedWithUser"].get("email", "")).lower() == email.lower() for s in store.ashares.values()):
        raise ApiError(409, "conflict", f"{email} already has access to this account.", "email")
    now = emulator_of(request).now()
    share: Doc = {
        "_id": new_id(),
        **fields,
        "accepted": False,
        "dismissed": False,
        "disabled": False,
        "sharedWithUser": {"_id": stable_id(f"user:{email.lower()}"), "email": email, "name": ""},
        "createdAt": iso(now),
    }
    return JSONResponse(_write(request, store, share, "create"), status_code=201)


@router.get("/v1/integrations/{rid}/ashares")
async def integration_users(rid: str, request: Request) -> Response:
    """Return a page of the users who can reach an integration: account-wide levels and grants for it."""
    store = account_of(request)
    require_doc(store, "integrations", rid)
    shares = [
        share
        for share in store.ashares.values()
        if share.get("accessLevel") in ("administrator", "manage", "monitor")
        or any(grant.get("_integrationId") == rid for grant in share.get("integrationAccessLevel") or [])
    ]
    return list_response(request, shares, emulator_of(request).config.page_size)
