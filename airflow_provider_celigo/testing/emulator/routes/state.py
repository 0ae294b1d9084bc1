"""Key-value state: ``/v1/state[/{key}]`` and ``/v1/{type}/{id}/state[/{key}]``.

Success codes are DOCS ``state.md``'s: a delete of account state answers 204, of a resource's state 200. What a
delete of a key that is not set answers is not documented: 404, as a GET of that key does, unless
``state_delete_missing_404`` is off (then the success code).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from ..body import read_json
from ..deps import account_of, emulator_of, require_doc, resource_type_of
from ..errors import ApiError

__all__ = ["router"]

router = APIRouter()


def _resource_state(request: Request, rtype: str, rid: str) -> dict[str, Any]:
    store = account_of(request)
    resource_type_of(rtype)
    require_doc(store, rtype, rid)
    return store.resource_state.setdefault(f"{rtype}/{rid}", {})


def _delete(request: Request, state: dict[str, Any], key: str, status: int) -> Response:
    if key not in state and emulator_of(request).config.state_delete_missing_404:
        raise ApiError(404, "not_found", f"State key {key!r} not found.")
    state.pop(key, None)
    return Response(status_code=status)


def _keys(state: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"keys": list(state)})


def _get(state: dict[str, Any], key: str) -> JSONResponse:
    if key not in state:
        raise ApiError(404, "not_found", f"State key {key!r} not found.")
    return JSONResponse(state[key])


async def _put(request: Request, state: dict[str, Any], key: str) -> Response:
    value = await read_json(request)
    created = key not in state
    state[key] = value
    return PlainTextResponse("Created" if created else "OK", status_code=201 if created else 200)


@router.get("/v1/state")
async def list_state(request: Request) -> JSONResponse:
    """Return ``{keys: [...]}`` of the account state."""
    return _keys(account_of(request).state)


@router.delete("/v1/state")
async def clear_state(request: Request) -> Response:
    """Delete every account state key; 204."""
    account_of(request).state.clear()
    return Response(status_code=204)


@router.get("/v1/state/{key}")
async def get_state(key: str, request: Request) -> JSONResponse:
    """Return the stored JSON value; 404 when absent."""
    return _get(account_of(request).state, key)


@router.put("/v1/state/{key}")
async def put_state(key: str, request: Request) -> Response:
    """Store any JSON value; reply ``Created`` (201) or ``OK`` (200)."""
    return await _put(request, account_of(request).state, key)


@router.delete("/v1/state/{key}")
async def delete_state(key: str, request: Request) -> Response:
    """Delete a key; 204 (404 when it was not set, see the module)."""
    return _delete(request, account_of(request).state, key, 204)


@router.get("/v1/{rtype}/{rid}/state")
async def list_resource_state(rtype: str, rid: str, request: Request) -> JSONResponse:
    """Return ``{keys: [...]}`` of one resource's state."""
    return _keys(_resource_state(request, rtype, rid))


@router.delete("/v1/{rtype}/{rid}/state")
async def clear_resource_state(rtype: str, rid: str, request: Request) -> Response:
    """Delete every state key of a resource; 200."""
    _resource_state(request, rtype, rid).clear()
    return Response(status_code=200)


@router.get("/v1/{rtype}/{rid}/state/{key}")
async def get_resource_state(rtype: str, rid: str, key: str, request: Request) -> JSONResponse:
    """Return one resource state value; 404 when absent."""
    return _get(_resource_state(request, rtype, rid), key)


@router.put("/v1/{rtype}/{rid}/state/{key}")
async def put_resource_state(rtype: str, rid: str, key: str, request: Request) -> Response:
    """Store a resource state value; ``Created`` (201) or ``OK`` (200)."""
    return await _put(request, _resource_state(request, rtype, rid), key)


@router.delete("/v1/{rtype}/{rid}/state/{key}")
async def delete_resource_state(rtype: str, rid: str, key: str, request: Request) -> Response:
    """Delete one resource state key; 200 (404 when it was not set, see the module)."""
    return _delete(request, _resource_state(request, rtype, rid), key, 200)
