"""The recycle bin: list, cascade restore, purge."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from ..deps import account_of
from ..errors import ApiError
from ..resources import RESOURCE_TYPES, resource_type
from ..secrets import masked

__all__ = ["router"]

router = APIRouter()


def _plural(rtype: str) -> str:
    found = resource_type(rtype)
    if found is None:
        raise ApiError(404, "not_found", f"Unknown resource type {rtype!r}.")
    return found.plural


@router.get("/v1/recycleBinTTL")
async def list_bin(request: Request) -> JSONResponse:
    """Return ``[{model, doc}]`` for every deleted resource (secrets masked)."""
    store = account_of(request)
    items = [
        {"model": RESOURCE_TYPES[e.rtype].model, "doc": masked(e.doc, RESOURCE_TYPES[e.rtype])}
        for e in store.recycle_bin.values()
    ]
    return JSONResponse(items)


@router.post("/v1/recycleBinTTL/{rtype}/{rid}/doCascadeRestore")
async def restore(rtype: str, rid: str, request: Request) -> JSONResponse:
    """Restore a deleted resource and what was deleted with it; 200 with ``[{model, _id}]``; 404 if absent."""
    store = account_of(request)
    try:
        restored = store.restore(_plural(rtype), rid)
    except KeyError:
        raise ApiError(404, "not_found", f"{rtype} {rid} is not in the recycle bin.") from None
    return JSONResponse([{"model": RESOURCE_TYPES[kind].model, "_id": doc["_id"]} for kind, doc in restored])


@router.delete("/v1/recycleBinTTL/{rtype}/{rid}")
async def purge(rtype: str, rid: str, request: Request) -> Response:
    """Delete a recycle-bin entry for good; 204; 404 if absent."""
    store = account_of(request)
    try:
        store.purge(_plural(rtype), rid)
    except KeyError:
        raise ApiError(404, "not_found", f"{rtype} {rid} is not in the recycle bin.") from None
    return Response(status_code=204)
