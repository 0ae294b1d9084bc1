"""Lookup cache data: upsert, get by keys or prefix, delete keys, purge.

Limits from celigo/ai ``configuring-lookup-caches``: keys and values are strings, at most 1000 entries and
5 MB per upsert (422 otherwise), 50 MB per cache. MB here is 10**6 bytes; a cache's size is the UTF-8 bytes of
its keys and values.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from ..body import read_object
from ..deps import account_of, require_doc
from ..errors import ApiError

__all__ = ["router"]

router = APIRouter()
MAX_ITEMS = 1000
MB = 1_000_000
MAX_REQUEST_BYTES = 5 * MB
MAX_CACHE_BYTES = 50 * MB


def entry_bytes(key: str, value: Any) -> int:
    """Return what one entry counts toward a cache's size (a non-string value, as loaded by a seed, as JSON)."""
    text = value if isinstance(value, str) else json.dumps(value)
    return len(key.encode()) + len(text.encode())


def _cache(request: Request, rid: str) -> dict[str, Any]:
    store = account_of(request)
    require_doc(store, "lookupcaches", rid)
    return store.lookup_data.setdefault(rid, {})


def _too_many(field: str) -> ApiError:
    return ApiError(422, "too_many_items", f"At most {MAX_ITEMS} items per request.", field)


def _string_list(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field)
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ApiError(422, "invalid_field", f"{field} must be an array of strings.", field)
    if len(value) > MAX_ITEMS:
        raise _too_many(field)
    return value


@router.post("/v1/lookupcaches/{rid}/data")
async def upsert_data(rid: str, request: Request) -> Response:
    """Upsert ``{data: [{key, value}]}`` (at most 1000 items); 204."""
    cache = _cache(request, rid)
    size = len(await request.body())
    if size > MAX_REQUEST_BYTES:
        raise ApiError(
            422, "too_large", f"At most {MAX_REQUEST_BYTES // MB} MB per request; this one has {size} bytes.", "data"
        )
    body = await read_object(request)
    items = body.get("data")
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("key"), str) for i in items):
        raise ApiError(422, "invalid_field", "data must be an array of {key, value} objects.", "data")
    if len(items) > MAX_ITEMS:
        raise _too_many("data")
    for index, item in enumerate(items):
        if not isinstance(item.get("value"), str):
            raise ApiError(422, "invalid_field", f"data[{index}].value must be a string (JSON-encode objects).", "data")
    after = dict(cache)
    after.update((item["key"], item["value"]) for item in items)
    total = sum(entry_bytes(key, value) for key, value in after.items())
    if total > MAX_CACHE_BYTES:
        raise ApiError(
            422,
            "cache_full",
            f"A lookup cache holds at most {MAX_CACHE_BYTES // MB} MB; this would make {total} bytes.",
        )
    cache.update(after)
    return Response(status_code=204)


@router.post("/v1/lookupcaches/{rid}/getData")
async def get_data(rid: str, request: Request) -> JSONResponse:
    """Return ``{data: [{key, value}]}`` for ``{keys}`` or ``{startsWith}`` (at most 1000)."""
    cache = _cache(request, rid)
    body = await read_object(request, required=False)
    if "keys" in body:
        keys = _string_list(body, "keys")
        data = [{"key": k, "value": cache[k]} for k in keys if k in cache]
    elif isinstance(body.get("startsWith"), str):
        prefix = body["startsWith"]
        data = [{"key": k, "value": v} for k, v in cache.items() if k.startswith(prefix)][:MAX_ITEMS]
    elif not body:
        data = [{"key": k, "value": v} for k, v in cache.items()][:MAX_ITEMS]
    else:
        raise ApiError(422, "invalid_body", "Send {keys: [...]} or {startsWith: '...'}.", "keys")
    return JSONResponse({"data": data})


@router.delete("/v1/lookupcaches/{rid}/data/purge")
async def purge_data(rid: str, request: Request) -> Response:
    """Delete every entry of the cache; 204."""
    _cache(request, rid).clear()
    return Response(status_code=204)


@router.delete("/v1/lookupcaches/{rid}/data")
async def delete_data(rid: str, request: Request) -> Response:
    """Delete ``{keys: [...]}`` (at most 1000); 204."""
    cache = _cache(request, rid)
    body = await read_object(request)
    for key in _string_list(body, "keys"):
        cache.pop(key, None)
    return Response(status_code=204)
