"""Request helpers shared by the route modules: the emulator, the caller's account, stored docs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from .core import Emulator
from .errors import ApiError, not_found
from .resources import RESOURCE_TYPES, ResourceType
from .store import AccountStore

__all__ = ["Doc", "account_of", "emulator_of", "require_doc", "resource_type_of"]

Doc = dict[str, Any]


def emulator_of(request: Request) -> Emulator:
    """Return the emulator serving this request."""
    emulator: Emulator = request.app.state.emulator
    return emulator


def account_of(request: Request) -> AccountStore:
    """Return the caller's account (the middleware has authenticated the request)."""
    store = request.scope.get("emulator.account")
    if store is None:  # only when the app runs without its middleware
        raise ApiError(401, "unauthorized", "A valid bearer token is required.")
    assert isinstance(store, AccountStore)
    return store


def resource_type_of(name: str) -> ResourceType:
    """Return the resource type for a path segment. Raises ApiError 404 for an unknown type."""
    found = RESOURCE_TYPES.get(name)
    if found is None:
        raise ApiError(404, "not_found", f"Unknown resource type {name!r}.")
    return found


def require_doc(store: AccountStore, rtype: str, rid: str) -> Doc:
    """Return a live document. Raises ApiError 404 (``invalid_ref`` for a malformed id)."""
    doc = store.get(rtype, rid)
    if doc is None:
        raise not_found(RESOURCE_TYPES[rtype].model, rid)
    return doc
