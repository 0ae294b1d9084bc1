"""``GET /v1/tokenInfo``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ..deps import account_of

router = APIRouter()


@router.get("/v1/tokenInfo")
async def token_info(request: Request) -> JSONResponse:
    """Return the user behind the token and its scope."""
    store = account_of(request)
    return JSONResponse({"_userId": store.user_id, "scope": ["full"]})
