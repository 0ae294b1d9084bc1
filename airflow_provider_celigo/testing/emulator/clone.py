"""Cloning integrations, flows, exports and imports with a connection map."""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError
from .flowgraph import remap_flow_refs, step_ids
from .ids import new_id
from .resources import RESOURCE_TYPES
from .store import AccountStore

__all__ = ["clone"]

Doc = dict[str, Any]
_MODEL_ORDER = ("integrations", "flows", "exports", "imports")


def _collect(store: AccountStore, rtype: str, source: Doc) -> dict[str, list[Doc]]:
    """Return the documents a clone of ``source`` copies, by type."""
    found: dict[str, list[Doc]] = {t: [] for t in _MODEL_ORDER}
    found[rtype].append(source)
    flows = store.integration_flows(source["_id"]) if rtype == "integrations" else []
    if rtype == "flows":
        flows = [source]
    else:
        found["flows"].extend(flows)
    seen: set[str] = set()
    for flow in flows:
        for step_id in step_ids(flow):
            if step_id in seen:
                continue
            seen.add(step_id)
            for kind in ("exports", "imports"):
                doc = store.get(kind, step_id)
                if doc is not None:
                    found[kind].append(doc)
    return found


def _referenced_connections(found: dict[str, list[Doc]]) -> list[str]:
    refs: list[str] = []
    for integration in found["integrations"]:
        refs.extend(c for c in integration.get("_registeredConnectionIds") or [] if isinstance(c, str))
    for kind in ("exports", "imports"):
        refs.extend(d["_connectionId"] for d in found[kind] if isinstance(d.get("_connectionId"), str))
    return list(dict.fromkeys(refs))


def _check_connection_map(store: AccountStore, body: Doc, found: dict[str, list[Doc]]) -> dict[str, str]:
    mapping = body.get("connectionMap") or {}
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise ApiError(400, "invalid_connectionMap", "connectionMap must map connection ids to connection ids.")
    unmapped = [c for c in _referenced_connections(found) if c not in mapping]
    if unmapped:
        raise ApiError(
            400,
            "invalid_connectionMap",
            f"connectionMap must map every connection the source uses; unmapped: {', '.join(unmapped)}",
            "connectionMap",
        )
    missing = [target for target in mapping.values() if store.get("connections", target) is None]
    if missing:
        raise ApiError(
            400,
            "invalid_connectionMap",
            f"connectionMap targets not found: {', '.join(missing)}",
            "connectionMap",
        )
    return mapping


def _target_integration(store: AccountStore, rtype: str, body: Doc) -> str | None:
    target = body.get("_integrationId")
    if rtype == "flows" and not target:
        raise ApiError(422, "invalid_ref", "_integrationId is required to clone a flow.", "_integrationId")
    if target is not None and (not isinstance(target, str) or store.get("integrations", target) is None):
        raise ApiError(422, "invalid_ref", f"Integration {target!r} not found.", "_integrationId")
    return target


def clone(store: AccountStore, rtype: str, source: Doc, body: Doc, now: float) -> tuple[list[Doc], dict[str, str]]:
    """Deep-copy ``source`` (and its flows/exports/imports) with new ids and mapped connections.

    Returns the manifest ``[{model, _id, name}]`` and the old-id -> new-id map. Raises ApiError
    (400 ``invalid_connectionMap``, 422 ``invalid_ref``) before creating anything.
    """
    target_integration = _target_integration(store, rtype, body)
    found = _collect(store, rtype, source)
    mapping = _check_connection_map(store, body, found)
    id_map = {doc["_id"]: new_id() for kind in _MODEL_ORDER for doc in found[kind]}
    if rtype == "integrations":
        target_integration = id_map[source["_id"]]
    manifest: list[Doc] = []
    for kind in _MODEL_ORDER:
        for doc in found[kind]:
            copy_doc = _copy(kind, doc, doc is source, body, id_map, mapping, target_integration)
            stored = store.upsert_raw(kind, {**copy_doc, "_id": id_map[doc["_id"]]}, now)
            manifest.append({"model": RESOURCE_TYPES[kind].model, "_id": stored["_id"], "name": stored.get("name")})
    return manifest, id_map


def _copy(
    kind: str,
    doc: Doc,
    is_source: bool,
    body: Doc,
    id_map: dict[str, str],
    mapping: dict[str, str],
    target_integration: str | None,
) -> Doc:
    out = copy.deepcopy({k: v for k, v in doc.items() if k not in ("_id", "createdAt", "lastModified")})
    if is_source:
        out["name"] = body.get("name") or f"Clone - {doc.get('name', '')}".strip()
        for key in ("sandbox", "tag"):
            if key in body:
                out[key] = body[key]
    if kind == "integrations":
        out["_registeredConnectionIds"] = [mapping.get(c, c) for c in doc.get("_registeredConnectionIds") or []]
    if kind == "flows":
        out = remap_flow_refs(out, id_map)
    if isinstance(out.get("_connectionId"), str):
        out["_connectionId"] = mapping.get(out["_connectionId"], out["_connectionId"])
    if target_integration and (kind != "integrations"):
        out["_integrationId"] = target_integration
    return out
