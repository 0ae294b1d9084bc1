"""Reading JSON request bodies with integrator.io's status codes (415, 400, 422)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from .errors import ApiError
from .secrets import contains_mask

__all__ = ["read_json", "read_object"]

_MISSING = object()


async def read_json(request: Request, *, required: bool = True) -> Any:
    """Return the parsed JSON body, or None when it is empty and not ``required``.

    Raises ApiError 415 for a non-JSON content type, 400 for malformed JSON and 422 for an
    empty body that is required. Marks the request log when a masked secret is written.
    """
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ApiError(422, "invalid_body", "A JSON request body is required.", "body")
        return None
    content_type = request.headers.get("content-type", "")
    if "json" not in content_type.lower():
        raise ApiError(
            415, "unsupported_media_type", f"Content-Type must be application/json, got {content_type or 'none'!r}."
        )
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"The request body is not valid JSON: {exc}") from exc
    if contains_mask(value):
        record = request.scope.get("emulator.record")
        if record is not None:
            record.masked_secret_written = True
    return value


async def read_object(request: Request, *, required: bool = True) -> dict[str, Any]:
    """Return the JSON body as an object ({} when empty and not required). Raises ApiError 422 otherwise."""
    value = await read_json(request, required=required)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ApiError(422, "invalid_body", "The request body must be a JSON object.", "body")
    return value
