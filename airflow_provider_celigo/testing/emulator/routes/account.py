"""``GET /v1/tokenInfo``, and the token extras of API tokens and agents (UI requestOptions, confidence M).

- ``GET /v1/accesstokens/{id}/display`` -> ``{"_id", "token"}`` (the token in clear; a GET of the resource masks it)
- ``POST /v1/accesstokens/{id}/generate`` -> ``{"_id", "token"}`` with a new token (the old one stops working)
- ``GET /v1/agents/{id}/display-token`` and ``PUT /v1/agents/{id}/change-token`` -> ``{"_id", "token"}``

The answer shapes are guesses from the UI, which spreads the answer into the token record it shows.
"""

from __future__ import annotations

import copy
import secrets

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ..deps import account_of, emulator_of, require_doc

router = APIRouter()


@router.get("/v1/tokenInfo")
async def token_info(request: Request) -> JSONResponse:
    """Return the user behind the token and its scope."""
    store = account_of(request)
    return JSONResponse({"_userId": store.user_id, "scope": ["full"]})


def _token_of(request: Request, rtype: str, rid: str, *, renew: bool) -> JSONResponse:
    """Answer ``{"_id", "token"}`` for an access token or agent, giving it a new token when ``renew`` (or none)."""
    store = account_of(request)
    doc = require_doc(store, rtype, rid)
    token = doc.get("token")
    if renew or not isinstance(token, str) or not token:
        changed = copy.deepcopy(doc)
        changed["token"] = token = secrets.token_hex(16)
        store.replace(rtype, rid, changed, emulator_of(request).now())
    return JSONResponse({"_id": rid, "token": token})


@router.get("/v1/accesstokens/{rid}/display")
async def display_access_token(rid: str, request: Request) -> JSONResponse:
    """Return an API token in clear; 404 when unknown."""
    return _token_of(request, "accesstokens", rid, renew=False)


@router.post("/v1/accesstokens/{rid}/generate")
async def generate_access_token(rid: str, request: Request) -> JSONResponse:
    """Give an API token a new value and return it; 404 when unknown."""
    return _token_of(request, "accesstokens", rid, renew=True)


@router.get("/v1/agents/{rid}/display-token")
async def display_agent_token(rid: str, request: Request) -> JSONResponse:
    """Return an agent's token in clear; 404 when unknown."""
    return _token_of(request, "agents", rid, renew=False)


@router.put("/v1/agents/{rid}/change-token")
async def change_agent_token(rid: str, request: Request) -> JSONResponse:
    """Give an agent a new token and return it; 404 when unknown."""
    return _token_of(request, "agents", rid, renew=True)
