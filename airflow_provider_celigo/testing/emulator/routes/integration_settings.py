"""An integration's registered connections and an integration app's settings.

- ``PUT /v1/integrations/{id}/connections/register`` (body: connection ids) and
  ``DELETE /v1/integrations/{id}/connections/{cid}/register``: UI ``sagas/resources`` and the official CLI's
  register/deregister commands (confidence M). Both answer 204 here; the real answer body is not documented
  (the UI ignores it). Unknown connection ids are refused with 422 (a guess).
- ``PUT /v1/integrations/{id}/settings/persistSettings`` body ``{"pending": {...}}``: UI ``sagas/resources``
  (confidence M), integration apps only (an integration with ``_connectorId``). The emulator merges
  ``pending`` into ``settings``; the real app's backend validates and applies it. A DIY integration gets 422
  (a guess: its ``settings`` is a plain field written with PUT).
"""

from __future__ import annotations

import copy

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from ..body import read_json, read_object
from ..deps import Doc, account_of, emulator_of, require_doc
from ..errors import ApiError, unprocessable

__all__ = ["router"]

router = APIRouter()


def _merge(base: Doc, changes: Doc) -> Doc:
    merged = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


@router.put("/v1/integrations/{rid}/connections/register")
async def register_connections(rid: str, request: Request) -> Response:
    """Add connections to the integration's ``_registeredConnectionIds``; 204; 422 for a bad or unknown id."""
    store = account_of(request)
    integration = require_doc(store, "integrations", rid)
    ids = await read_json(request)
    if not isinstance(ids, list) or not ids or not all(isinstance(cid, str) for cid in ids):
        raise unprocessable("invalid_body", "The body must be a non-empty JSON array of connection ids.", "body")
    unknown = [cid for cid in ids if store.get("connections", cid) is None]
    if unknown:
        raise unprocessable("invalid_ref", f"Connection(s) not found: {', '.join(unknown)}.", "body")
    registered = list(integration.get("_registeredConnectionIds") or [])
    if all(cid in registered for cid in ids):
        return Response(status_code=204)
    changed = copy.deepcopy(integration)
    changed["_registeredConnectionIds"] = list(dict.fromkeys([*registered, *ids]))
    store.replace("integrations", rid, changed, emulator_of(request).now())
    return Response(status_code=204)


@router.delete("/v1/integrations/{rid}/connections/{cid}/register")
async def deregister_connection(rid: str, cid: str, request: Request) -> Response:
    """Remove a connection from the integration's registered ones; 204; 404 when it is not registered."""
    store = account_of(request)
    integration = require_doc(store, "integrations", rid)
    registered = list(integration.get("_registeredConnectionIds") or [])
    if cid not in registered:
        raise ApiError(404, "not_found", f"Connection {cid} is not registered with integration {rid}.")
    changed = copy.deepcopy(integration)
    changed["_registeredConnectionIds"] = [other for other in registered if other != cid]
    store.replace("integrations", rid, changed, emulator_of(request).now())
    return Response(status_code=204)


@router.put("/v1/integrations/{rid}/settings/persistSettings")
async def persist_settings(rid: str, request: Request) -> JSONResponse:
    """Apply an integration app's pending settings; 200 ``{"success": true}``; 422 for a DIY integration."""
    store = account_of(request)
    integration = require_doc(store, "integrations", rid)
    body = await read_object(request)
    pending = body.get("pending")
    if not isinstance(pending, dict):
        raise unprocessable("invalid_body", 'The body must be {"pending": {...}}.', "pending")
    if not integration.get("_connectorId"):
        raise unprocessable(
            "not_integration_app",
            "persistSettings is for integration apps; a DIY integration's settings are written with PUT.",
        )
    changed = copy.deepcopy(integration)
    changed["settings"] = _merge(integration.get("settings") or {}, pending)
    store.replace("integrations", rid, changed, emulator_of(request).now())
    return JSONResponse({"success": True})
