"""The account's audit log: one entry per create, update or delete of a resource, queried like ``GET /audit``.

Entry shape from the integrator.io UI's own test fixtures (UI ``components/AuditLog``, confidence M):
``{_id, resourceType, _resourceId, source, event, time, fieldChanges: [{fieldPath, oldValue, newValue}],
byUser: {_id, email, name}}``. ``resourceType`` is the singular model name with a lower-case first letter
(``flow``, ``connection``, ``lookupCache``); the UI shows ``flow`` and ``script``, the rest is a guess. The
``action`` query filter matches ``event`` (the filter name is documented, the field it matches is a guess).
Secrets never enter the log: values are taken from the masked documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .ids import iso, new_id, parse_time
from .secrets import MASK, is_secret_key

__all__ = ["AuditLog", "audit_type", "field_changes"]

Doc = dict[str, Any]

EVENTS = ("create", "update", "delete")
SOURCES = ("ui", "api", "connector", "stack", "system")
FILTERS = ("resourceType", "_resourceId", "_byUserId", "source", "action", "from", "to")
_IGNORED_FIELDS = frozenset({"_id", "createdAt", "lastModified"})


def audit_type(model: str) -> str:
    """Return the audit ``resourceType`` of a model name: ``Flow`` -> ``flow``, ``LookupCache`` -> ``lookupCache``."""
    return model[:1].lower() + model[1:]


def _hide_secrets(value: Any) -> Any:
    """Return ``value`` with whatever sits under a secret-named key (``token``, ``password``...) masked."""
    if isinstance(value, dict):
        return {k: MASK if is_secret_key(str(k)) and v else _hide_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide_secrets(item) for item in value]
    return value


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Doc]:
    """Return ``[{fieldPath, oldValue, newValue}]`` for every top-level field that differs (system fields aside).

    A secret is never shown: a changed one appears as ``******`` on both sides.
    """
    changes: list[Doc] = []
    hidden_old, hidden_new = _hide_secrets(dict(old)), _hide_secrets(dict(new))
    for key in dict.fromkeys([*old, *new]):
        if key in _IGNORED_FIELDS or old.get(key) == new.get(key):
            continue
        changes.append({"fieldPath": key, "oldValue": hidden_old.get(key), "newValue": hidden_new.get(key)})
    return changes


@dataclass
class AuditLog:
    """The entries of one account, oldest first (queries answer newest first)."""

    user: Doc
    entries: list[Doc] = field(default_factory=list)

    def record(
        self,
        model: str,
        resource_id: str,
        event: str,
        now: float,
        changes: list[Doc] | None = None,
        source: str = "api",
    ) -> Doc:
        """Append one entry and return it."""
        entry: Doc = {
            "_id": new_id(),
            "resourceType": audit_type(model),
            "_resourceId": resource_id,
            "source": source,
            "event": event,
            "time": iso(now),
            "fieldChanges": changes or [],
            "byUser": dict(self.user),
        }
        self.entries.append(entry)
        return entry

    def add_raw(self, entries: Iterable[Any]) -> int:
        """Append entries given as documents (a dump's ``audit`` list), filling ``_id``; return how many."""
        count = 0
        for entry in entries:
            if isinstance(entry, dict):
                stored = {"_id": new_id(), "fieldChanges": [], "byUser": dict(self.user), **entry}
                try:  # times in the one form the emulator writes, so that queries compare them as text
                    stored["time"] = iso(parse_time(str(stored.get("time"))))
                except ValueError:
                    stored["time"] = ""
                self.entries.append(stored)
                count += 1
        self.entries.sort(key=lambda item: str(item.get("time", "")))
        return count

    def seed(
        self,
        count: int,
        start: float,
        step_seconds: float,
        resource_type: str = "flow",
        resource_ids: list[str] | None = None,
    ) -> int:
        """Append ``count`` update entries ``step_seconds`` apart from ``start``; return the new total.

        Each entry changes ``description`` of one of ``resource_ids`` (round robin; one made-up id by default).
        """
        ids = resource_ids or [new_id()]
        for n in range(count):
            moment = start + n * step_seconds
            self.entries.append(
                {
                    "_id": new_id(),
                    "resourceType": resource_type,
                    "_resourceId": ids[n % len(ids)],
                    "source": SOURCES[n % 2],
                    "event": "update",
                    "time": iso(moment),
                    "fieldChanges": [
                        {"fieldPath": "description", "oldValue": f"revision {n}", "newValue": f"revision {n + 1}"}
                    ],
                    "byUser": dict(self.user),
                }
            )
        self.entries.sort(key=lambda item: str(item.get("time", "")))
        return len(self.entries)

    def query(self, params: Iterable[tuple[str, str]], resource: tuple[str, str] | None = None) -> list[Doc]:
        """Return the entries matching the ``GET /audit`` filters, newest first.

        ``resource`` (audit type, id) narrows to one resource (``GET /{type}/{id}/audit``). Raises ApiError 400
        ``invalid_query`` for a ``from``/``to`` that is not a date, or an unknown ``source`` or ``action``.
        """
        wanted: dict[str, str] = {}
        for key, value in params:
            if key in FILTERS:
                wanted[key] = value
        for key, allowed in (("source", SOURCES), ("action", EVENTS)):
            if key in wanted and wanted[key] not in allowed:
                raise ApiError(
                    400, "invalid_query", f"{key} must be one of {', '.join(allowed)}, got {wanted[key]!r}.", key
                )
        # Every stored time has the form iso() writes, so text order is time order.
        bounds = {key: iso(_moment(key, wanted[key])) for key in ("from", "to") if key in wanted}
        exact = {
            "resourceType": wanted.get("resourceType"),
            "_resourceId": wanted.get("_resourceId"),
            "source": wanted.get("source"),
            "event": wanted.get("action"),
        }
        if resource is not None:
            exact["resourceType"], exact["_resourceId"] = resource
        tests = [(name, value) for name, value in exact.items() if value is not None]
        user = wanted.get("_byUserId")
        found: list[Doc] = []
        for entry in reversed(self.entries):
            if any(entry.get(name) != value for name, value in tests):
                continue
            if user is not None and (entry.get("byUser") or {}).get("_id") != user:
                continue
            if bounds:
                moment = str(entry.get("time"))
                if moment < bounds.get("from", moment) or moment > bounds.get("to", moment):
                    continue
            found.append(entry)
        return found


def _moment(name: str, value: str) -> float:
    try:
        return parse_time(value)
    except ValueError:
        raise ApiError(
            400, "invalid_query", f"{name} must be an ISO-8601 date/time or epoch milliseconds, got {value!r}.", name
        ) from None
