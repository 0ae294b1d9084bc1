"""``GET /v1/audit`` (filters, Link-paged), ``GET /v1/{type}/{id}/audit``, and the admin route that seeds entries.

Paths and filters: UI requestOptions and Celigo's MCP api-reference (confidence H); entry shape: see ``audit.py``.
"""

from __future__ import annotations

from typing import TypeGuard

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from ..admin import PREFIX
from ..audit import audit_type
from ..body import read_object
from ..deps import account_of, emulator_of, resource_type_of
from ..errors import ApiError, not_found
from ..paging import list_response

__all__ = ["admin_router", "router"]

router = APIRouter()
admin_router = APIRouter(prefix=PREFIX)


@router.get("/v1/audit")
async def list_audit(request: Request) -> Response:
    """Return a page of the account's audit entries, newest first (filters: resourceType, _resourceId, ...)."""
    store = account_of(request)
    entries = store.audit.query(request.query_params.multi_items())
    return list_response(request, entries, emulator_of(request).config.page_size)


@router.get("/v1/{rtype}/{rid}/audit")
async def resource_audit(rtype: str, rid: str, request: Request) -> Response:
    """Return a page of one resource's audit entries, newest first; 404 when it never existed."""
    kind = resource_type_of(rtype)
    store = account_of(request)
    resource = (audit_type(kind.model), rid)
    entries = store.audit.query(request.query_params.multi_items(), resource)
    if not entries and store.get(rtype, rid) is None and rid not in store.recycle_bin:
        raise not_found(kind.model, rid)
    return list_response(request, entries, emulator_of(request).config.page_size)


@admin_router.post("/audit")
async def seed_audit(request: Request) -> JSONResponse:
    """Add ``count`` audit entries to an account (``account``, ``start`` epoch s, ``step_seconds``, ...)."""
    body = await read_object(request)
    emulator = emulator_of(request)
    count = body.get("count")
    step = body.get("step_seconds", 1.0)
    ids = body.get("resource_ids")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 < count <= 1_000_000:
        raise ApiError(422, "invalid_count", "count must be a whole number from 1 to 1000000.", "count")
    # By default the entries end now, one step apart.
    start = body.get("start", emulator.now() - count * step if _is_number(step) else None)
    if not (_is_number(start) and _is_number(step)):
        raise ApiError(422, "invalid_time", "start and step_seconds must be numbers of seconds.")
    if ids is not None and (not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids)):
        raise ApiError(422, "invalid_ids", "resource_ids must be a non-empty list of ids.", "resource_ids")
    store = emulator.account(body.get("account") or emulator.config.default_account)
    total = store.audit.seed(count, float(start), float(step), str(body.get("resource_type", "flow")), ids)
    return JSONResponse({"added": count, "total": total})


def _is_number(value: object) -> TypeGuard[float]:
    """Return True for an int or float that is not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)
