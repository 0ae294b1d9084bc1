"""The ``GET /v1/jobs`` query: parsing its parameters and matching job documents."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .ids import parse_time

__all__ = ["ID_FIELDS", "SCOPING", "JobFilter", "QueryError", "parse_job_query"]

ID_FIELDS = ("_integrationId", "_flowId", "_exportId", "_importId", "_flowJobId")
SCOPING = frozenset({*ID_FIELDS, "_flowId_in", "createdAt_gte", "createdAt_lte"})
NUMERIC_FIELDS = frozenset(
    {"numSuccess", "numError", "numResolved", "numExport", "numIgnore", "numOpenError", "numPagesGenerated"}
)
_INDEXED = re.compile(r"^(?P<name>\w+?_in)\[\d*\]$")


class QueryError(ValueError):
    """A query parameter with an invalid value."""


@dataclass
class JobFilter:
    """The parsed filters of a jobs query."""

    ids: dict[str, set[str]] = field(default_factory=dict)
    types: set[str] | None = None
    statuses: set[str] | None = None
    created_gte: float | None = None
    created_lte: float | None = None
    numeric: list[tuple[str, str, int]] = field(default_factory=list)
    scoped: bool = False

    def matches(self, doc: dict[str, Any], created: float) -> bool:
        """Return True when the job document passes every filter (times compared in whole milliseconds)."""
        created_ms = round(created * 1000)
        if self.created_gte is not None and created_ms < round(self.created_gte * 1000):
            return False
        if self.created_lte is not None and created_ms > round(self.created_lte * 1000):
            return False
        if self.types is not None and doc.get("type") not in self.types:
            return False
        if self.statuses is not None and doc.get("status") not in self.statuses:
            return False
        for name, allowed in self.ids.items():
            if doc.get(name) not in allowed:
                return False
        for name, op, value in self.numeric:
            actual = doc.get(name, 0)
            if (op == "gte" and actual < value) or (op == "lte" and actual > value):
                return False
        return True


def parse_job_query(params: list[tuple[str, str]]) -> JobFilter:
    """Return the filter for ``/jobs`` query pairs. Raises QueryError for an unparsable value."""
    flt = JobFilter()
    for raw_key, value in params:
        indexed = _INDEXED.match(raw_key)
        key = indexed.group("name") if indexed else raw_key
        if key in SCOPING:
            flt.scoped = True
        if key in ID_FIELDS:
            flt.ids.setdefault(key, set()).add(value)
        elif key == "_flowId_in":
            flt.ids.setdefault("_flowId", set()).update(v for v in value.split(",") if v)
        elif key == "type":
            flt.types = (flt.types or set()) | {value}
        elif key == "type_in":
            flt.types = (flt.types or set()) | {v for v in value.split(",") if v}
        elif key in ("status", "status_in"):
            flt.statuses = (flt.statuses or set()) | {v for v in value.split(",") if v}
        elif key in ("createdAt_gte", "createdAt_lte"):
            try:
                moment = parse_time(value)
            except ValueError as exc:
                raise QueryError(f"{key} must be an ISO-8601 date or epoch milliseconds") from exc
            if key.endswith("gte"):
                flt.created_gte = moment
            else:
                flt.created_lte = moment
        elif "_" in key and key.rsplit("_", 1)[0] in NUMERIC_FIELDS and key.rsplit("_", 1)[1] in ("gte", "lte"):
            name, op = key.rsplit("_", 1)
            try:
                flt.numeric.append((name, op, int(value)))
            except ValueError as exc:
                raise QueryError(f"{key} must be an integer") from exc
    return flt
