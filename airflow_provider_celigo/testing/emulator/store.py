"""Per-account in-memory data: resources, recycle bin, key-value state, lookup-cache data, users and audit log.

Every create, replace and delete of a resource through the API goes through ``AccountStore`` and is recorded
in the account's audit log here (``audit.py``), with secrets masked; seeding (``load``) is not recorded.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from .audit import AuditLog, field_changes
from .flowgraph import connection_ids
from .ids import is_object_id, iso, new_id, stable_id
from .resources import RESOURCE_TYPES
from .secrets import masked
from .users import seed_users

__all__ = ["AccountStore"]

Doc = dict[str, Any]


@dataclass
class BinEntry:
    """A deleted resource waiting in the recycle bin."""

    rtype: str
    doc: Doc
    deleted_at: float
    cascade_of: str | None = None


@dataclass
class AccountStore:
    """Everything one integrator.io account holds."""

    account_id: str
    user_id: str = ""
    docs: dict[str, dict[str, Doc]] = field(default_factory=lambda: {t: {} for t in RESOURCE_TYPES})
    recycle_bin: dict[str, BinEntry] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    resource_state: dict[str, dict[str, Any]] = field(default_factory=dict)
    lookup_data: dict[str, dict[str, Any]] = field(default_factory=dict)
    ashares: dict[str, Doc] = field(default_factory=dict)
    audit: AuditLog = field(init=False)
    _seeding: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.user_id:
            self.user_id = stable_id(f"user:{self.account_id}")
        owner = {"_id": self.user_id, "email": f"owner@{self.account_id}.example", "name": "Account owner"}
        self.audit = AuditLog(owner)
        self.ashares.update(seed_users(self.account_id))

    def _record(self, rtype: str, rid: str, event: str, now: float, old: Doc | None, new: Doc | None) -> None:
        """Add the audit entry of a write (values masked as a GET shows them); seeding records nothing."""
        if self._seeding:
            return
        kind = RESOURCE_TYPES[rtype]
        changes = field_changes(masked(old, kind), masked(new, kind)) if old is not None and new is not None else []
        self.audit.record(kind.model, rid, event, now, changes)

    # -- resources -------------------------------------------------------------------------------

    def get(self, rtype: str, rid: str) -> Doc | None:
        """Return the stored document or None."""
        return self.docs[rtype].get(rid)

    def all(self, rtype: str) -> list[Doc]:
        """Return the documents of one type in creation order."""
        return list(self.docs[rtype].values())

    def create(self, rtype: str, body: Doc, now: float) -> Doc:
        """Store ``body`` under a new id with timestamps and return the stored document."""
        stamp = iso(now)
        doc: Doc = {"_id": new_id()}
        doc.update({k: v for k, v in body.items() if k not in ("_id", "createdAt", "lastModified")})
        if rtype == "connections":
            doc.setdefault("offline", False)
        doc["createdAt"] = stamp
        doc["lastModified"] = stamp
        self.docs[rtype][doc["_id"]] = doc
        self._record(rtype, doc["_id"], "create", now, None, None)
        return doc

    def replace(self, rtype: str, rid: str, body: Doc, now: float) -> Doc:
        """Replace a document (keeping ``_id``, ``createdAt`` and system fields) and return it."""
        old = self.docs[rtype][rid]
        doc: Doc = {"_id": rid}
        doc.update({k: v for k, v in body.items() if k not in ("_id", "createdAt", "lastModified")})
        if rtype == "connections":
            doc["offline"] = old.get("offline", False)
        if rtype == "flows" and "lastExecutedAt" in old:
            doc["lastExecutedAt"] = old["lastExecutedAt"]
        doc["createdAt"] = old.get("createdAt", iso(now))
        doc["lastModified"] = iso(now)
        self.docs[rtype][rid] = doc
        self._record(rtype, rid, "update", now, old, doc)
        return doc

    def upsert_raw(self, rtype: str, doc: Doc, now: float) -> Doc:
        """Store a seed document as given (id kept or generated, timestamps filled in) and return it."""
        stored = copy.deepcopy(doc)
        if not is_object_id(stored.get("_id")):
            stored["_id"] = new_id()
        if rtype == "connections":
            stored.setdefault("offline", False)
        stored.setdefault("createdAt", iso(now))
        stored.setdefault("lastModified", stored["createdAt"])
        old = self.docs[rtype].get(stored["_id"])
        self.docs[rtype][stored["_id"]] = stored
        self.recycle_bin.pop(stored["_id"], None)
        self._record(rtype, stored["_id"], "create" if old is None else "update", now, old, stored)
        return stored

    def find_type(self, rid: str) -> str | None:
        """Return the type of a live document id, or None."""
        return next((rtype for rtype, docs in self.docs.items() if rid in docs), None)

    def integration_flows(self, integration_id: str) -> list[Doc]:
        """Return the live flows of an integration."""
        return [f for f in self.docs["flows"].values() if f.get("_integrationId") == integration_id]

    def flow_connections(self, flow: Doc) -> list[str]:
        """Return the connection ids used by a flow's exports and imports."""
        return connection_ids(flow, self.get)

    # -- recycle bin -----------------------------------------------------------------------------

    def delete(self, rtype: str, rid: str, now: float) -> None:
        """Move a document (and, for an integration, its flows) to the recycle bin."""
        doc = self.docs[rtype].pop(rid)
        self.recycle_bin[rid] = BinEntry(rtype, doc, now)
        self._record(rtype, rid, "delete", now, None, None)
        if rtype == "integrations":
            for flow in self.integration_flows(rid):
                self.docs["flows"].pop(flow["_id"])
                self.recycle_bin[flow["_id"]] = BinEntry("flows", flow, now, cascade_of=rid)

    def restore(self, rtype: str, rid: str) -> list[tuple[str, Doc]]:
        """Restore an entry and everything deleted with it; return what came back. Raises KeyError."""
        entry = self.recycle_bin.get(rid)
        if entry is None or entry.rtype != rtype:
            raise KeyError(rid)
        restored = [(rtype, entry.doc)]
        del self.recycle_bin[rid]
        for other_id, other in list(self.recycle_bin.items()):
            if other.cascade_of == rid:
                restored.append((other.rtype, other.doc))
                del self.recycle_bin[other_id]
        for kind, doc in restored:
            self.docs[kind][doc["_id"]] = doc
        return restored

    def purge(self, rtype: str, rid: str) -> None:
        """Delete a recycle-bin entry for good. Raises KeyError when absent."""
        entry = self.recycle_bin.get(rid)
        if entry is None or entry.rtype != rtype:
            raise KeyError(rid)
        del self.recycle_bin[rid]

    # -- dumps -----------------------------------------------------------------------------------

    def load(self, dump: dict[str, Any], now: float) -> list[str]:
        """Upsert a raw dump (``{type: [docs]}``, ``lookupData``, ``state``); return the unknown keys."""
        unknown: list[str] = []
        self._seeding = True
        try:
            for key, value in dump.items():
                unknown.extend(self._load_one(key, value, now))
        finally:
            self._seeding = False
        return unknown

    def _load_one(self, key: str, value: Any, now: float) -> list[str]:
        """Load one key of a dump; return ``[key]`` when it is not one a dump may hold."""
        unknown: list[str] = []
        if key in RESOURCE_TYPES and isinstance(value, list):
            for doc in value:
                if isinstance(doc, dict):
                    self.upsert_raw(key, doc, now)
        elif key == "audit" and isinstance(value, list):
            self.audit.add_raw(value)
        elif key == "ashares" and isinstance(value, list):
            for share in value:
                if isinstance(share, dict):
                    stored = {"_id": new_id(), **share}
                    self.ashares[stored["_id"]] = stored
        elif key == "lookupData" and isinstance(value, dict):
            for cache_id, items in value.items():
                data = self.lookup_data.setdefault(cache_id, {})
                data.update({item["key"]: item.get("value") for item in items if isinstance(item, dict)})
        elif key == "state" and isinstance(value, dict):
            self.state.update(value)
        elif key not in ("scenarios", "account", "seed"):
            unknown.append(key)
        return unknown

    def dump(self) -> dict[str, Any]:
        """Return everything the account holds, secrets unmasked."""
        return {
            "resources": {rtype: list(docs.values()) for rtype, docs in self.docs.items()},
            "recycleBin": [
                {"model": RESOURCE_TYPES[e.rtype].model, "doc": e.doc, "cascadeOf": e.cascade_of}
                for e in self.recycle_bin.values()
            ],
            "state": self.state,
            "resourceState": self.resource_state,
            "lookupData": {cid: [{"key": k, "value": v} for k, v in d.items()] for cid, d in self.lookup_data.items()},
        }
