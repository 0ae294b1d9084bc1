"""Connection ping and ``replaceConnection`` on flows, exports and imports."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from ..body import read_object
from ..deps import account_of, emulator_of, require_doc
from ..errors import ApiError, envelope
from ..flowgraph import step_ids
from ..ids import iso

__all__ = ["router"]

router = APIRouter()


async def _ping(rid: str, request: Request) -> JSONResponse:
    """Return 200 ``{"code": 200}`` when online, 200 with an ``offline`` error envelope otherwise."""
    connection = require_doc(account_of(request), "connections", rid)
    if connection.get("offline"):
        name = connection.get("name", rid)
        return JSONResponse(envelope("offline", f"Connection {name!r} is offline."))
    return JSONResponse({"code": 200})


router.add_api_route("/v1/connections/{rid}/ping", _ping, methods=["GET", "POST"], name="ping")


def _new_connection(request: Request, body: dict, field: str = "_newConnectionId") -> str:
    value = body.get(field)
    if not isinstance(value, str) or account_of(request).get("connections", value) is None:
        raise ApiError(422, "invalid_ref", f"{field} must be an existing connection id.", field)
    return value


@router.put("/v1/flows/{rid}/replaceConnection")
async def replace_flow_connection(rid: str, request: Request) -> Response:
    """Swap ``_connectionId`` for ``_newConnectionId`` in the flow's exports and imports; 204."""
    store = account_of(request)
    flow = require_doc(store, "flows", rid)
    body = await read_object(request)
    old = body.get("_connectionId")
    if not isinstance(old, str):
        raise ApiError(422, "missing_required_field", "_connectionId is required.", "_connectionId")
    new = _new_connection(request, body)
    stamp = iso(emulator_of(request).now())
    for step_id in step_ids(flow):
        for kind in ("exports", "imports"):
            doc = store.get(kind, step_id)
            if doc is not None and doc.get("_connectionId") == old:
                doc["_connectionId"] = new
                doc["lastModified"] = stamp
    return Response(status_code=204)


async def _replace_step_connection(rtype: str, rid: str, request: Request) -> Response:
    doc = require_doc(account_of(request), rtype, rid)
    doc["_connectionId"] = _new_connection(request, await read_object(request))
    doc["lastModified"] = iso(emulator_of(request).now())
    return Response(status_code=204)


@router.put("/v1/exports/{rid}/replaceConnection")
async def replace_export_connection(rid: str, request: Request) -> Response:
    """Point an export at ``_newConnectionId``; 204."""
    return await _replace_step_connection("exports", rid, request)


@router.put("/v1/imports/{rid}/replaceConnection")
async def replace_import_connection(rid: str, request: Request) -> Response:
    """Point an import at ``_newConnectionId``; 204."""
    return await _replace_step_connection("imports", rid, request)
