"""The integrator.io error envelope and the exception that carries it."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

__all__ = ["ApiError", "envelope", "not_found", "unprocessable"]


def envelope(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """Return ``{"errors": [{"code", "message", "field"?}]}``."""
    item: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        item["field"] = field
    return {"errors": [item]}


class ApiError(Exception):
    """An API error answered as the error envelope with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        """Return the JSON response for this error."""
        return JSONResponse(
            envelope(self.code, self.message, self.field), status_code=self.status, headers=self.headers
        )


def not_found(what: str, ident: str) -> ApiError:
    """Return the 404 for an unknown id (``invalid_ref`` when the id is not even 24-hex)."""
    from .ids import is_object_id

    if not is_object_id(ident):
        return ApiError(404, "invalid_ref", f"{ident!r} is not a valid {what} id.")
    return ApiError(404, "not_found", f"{what} {ident} not found.")


def unprocessable(code: str, message: str, field: str | None = None) -> ApiError:
    """Return a 422 validation error."""
    return ApiError(422, code, message, field)
