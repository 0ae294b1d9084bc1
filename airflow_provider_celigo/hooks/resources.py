"""Hook methods for integrator.io resources (CRUD, clone, state, lookup caches, errors, recycle bin)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any


class ResourceMethods:
    """Resource methods mixed into ``CeligoHook``; they call ``self.request`` and ``self.paginate``."""

    if TYPE_CHECKING:

        def request(self, method: str, path: str, *, params: Any = None, json: Any = None) -> Any: ...

        def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]: ...
