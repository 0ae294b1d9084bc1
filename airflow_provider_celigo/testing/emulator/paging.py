"""List responses: bare JSON arrays, ``Link: <...>; rel="next"`` paging, 204 for empty lists."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .errors import ApiError

__all__ = ["body_cursor_response", "list_response"]


def encode_cursor(offset: int) -> str:
    """Return the opaque cursor for a list offset."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Return the offset in a cursor. Raises ApiError 400 ``invalid_query`` for a bad cursor."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "offset" or not number.isdigit():
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_query", "The 'after' cursor is not valid.") from exc


def page_size_for(request: Request, default: int) -> int:
    """Return the page size: the server's, or a smaller positive ``limit`` query parameter."""
    limit = request.query_params.get("limit")
    if limit is not None and limit.isdigit() and int(limit) > 0:
        return min(int(limit), default)
    return default


def list_response(
    request: Request,
    items: list[Any],
    page_size: int,
    *,
    empty_204: bool = False,
    transform: Callable[[Any], Any] | None = None,
) -> Response:
    """Return one page of ``items`` as a bare array with a ``Link`` header when more remain."""
    if not items and empty_204:
        return Response(status_code=204)
    cursor = request.query_params.get("after")
    offset = decode_cursor(cursor) if cursor else 0
    size = page_size_for(request, page_size)
    page = items[offset : offset + size]
    if transform is not None:
        page = [transform(item) for item in page]
    headers = {}
    if offset + size < len(items):
        next_url = request.url.include_query_params(after=encode_cursor(offset + size))
        headers["Link"] = f'<{next_url}>; rel="next"'
    return JSONResponse(page, headers=headers)


def body_cursor_response(
    request: Request,
    field: str,
    items: list[Any],
    page_size: int,
    *,
    empty_404: bool = False,
) -> JSONResponse:
    """Return one page of ``items`` as ``{field: [...], "nextPageURL": ...}`` (step errors, resolved errors).

    ``nextPageURL`` is present while more remain: this request's path and query with an ``after`` cursor, led
    by ``/api`` instead of ``/v1`` as the UI receives it. With ``empty_404``, no items at all answers 404, as a
    step without an error store has been seen to. Raises ApiError 400 for a bad cursor, 404 as said.
    """
    if not items and empty_404:
        raise ApiError(404, "not_found", "This step has no error store yet (it never had errors).")
    cursor = request.query_params.get("after")
    offset = decode_cursor(cursor) if cursor else 0
    size = page_size_for(request, page_size)
    body: dict[str, Any] = {field: items[offset : offset + size]}
    if offset + size < len(items):
        following = request.url.include_query_params(after=encode_cursor(offset + size))
        path = following.path.removeprefix("/v1")
        body["nextPageURL"] = f"/api{path}?{following.query}"
    return JSONResponse(body)
