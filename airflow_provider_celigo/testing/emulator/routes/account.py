"""``GET /v1/tokenInfo``, and the token extras of API tokens and agents (UI requestOptions, confidence M).

- ``GET /v1/accesstokens/{id}/display`` -> ``{"_id", "token"}`` (the token in clear; a GET of the resource masks it)
- ``POST /v1/accesstokens/{id}/generate`` -> ``{"_id", "token"}`` with a new token (the old one stops working)
- ``GET /v1/agents/{id}/display-token`` and ``PUT /v1/agents/{id}/change-token`` -> ``{"_id", "token"}``

The answer shapes are guesses from the UI, which spreads the answer into the token record it shows.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ..deps import account_of, emulator_of, require_doc

__all__ = ["router"]

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


def _token_route(rtype: str, *, renew: bool) -> Callable[[str, Request], Awaitable[JSONResponse]]:
    async def route(rid: str, request: Request) -> JSONResponse:
        return _token_of(request, rtype, rid, renew=renew)

    return route


# (method, path, resource type, whether the token is renewed); 404 when the resource is unknown.
_TOKEN_ROUTES = (
    ("GET", "/v1/accesstokens/{rid}/display", "accesstokens", False),
    ("POST", "/v1/accesstokens/{rid}/generate", "accesstokens", True),
    ("GET", "/v1/agents/{rid}/display-token", "agents", False),
    ("PUT", "/v1/agents/{rid}/change-token", "agents", True),
)
for _method, _path, _rtype, _renew in _TOKEN_ROUTES:
    router.add_api_route(_path, _token_route(_rtype, renew=_renew), methods=[_method], name=_path.rsplit("/", 1)[1])
