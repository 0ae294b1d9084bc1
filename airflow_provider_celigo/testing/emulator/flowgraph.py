"""Reading a flow document: its page generators, its steps and the connections they use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["connection_ids", "page_generator_ids", "processor_steps", "remap_flow_refs", "step_connections", "step_ids"]

Doc = dict[str, Any]


def page_generator_ids(flow: Doc) -> list[str]:
    """Return the export ids of the flow's page generators (legacy top-level ``_exportId`` too)."""
    ids = [pg["_exportId"] for pg in flow.get("pageGenerators") or [] if isinstance(pg, dict) and pg.get("_exportId")]
    if not ids and isinstance(flow.get("_exportId"), str):
        ids.append(flow["_exportId"])
    return ids


def _processors(flow: Doc) -> Iterator[Doc]:
    for processor in flow.get("pageProcessors") or []:
        if isinstance(processor, dict):
            yield processor
    for router in flow.get("routers") or []:
        for branch in (router or {}).get("branches") or []:
            for processor in (branch or {}).get("pageProcessors") or []:
                if isinstance(processor, dict):
                    yield processor


def processor_steps(flow: Doc) -> list[tuple[str, str]]:
    """Return ``(kind, id)`` for each page processor in order; kind is ``import`` or ``export`` (lookup)."""
    steps: list[tuple[str, str]] = []
    for processor in _processors(flow):
        if processor.get("_importId"):
            steps.append(("import", processor["_importId"]))
        elif processor.get("_exportId"):
            steps.append(("export", processor["_exportId"]))
    if not steps and isinstance(flow.get("_importId"), str):
        steps.append(("import", flow["_importId"]))
    return steps


def step_ids(flow: Doc) -> list[str]:
    """Return every export and import id the flow uses, page generators first."""
    return page_generator_ids(flow) + [step_id for _, step_id in processor_steps(flow)]


def connection_ids(flow: Doc, lookup: Callable[[str, str], Doc | None]) -> list[str]:
    """Return the distinct connection ids of the flow's exports and imports, in step order.

    ``lookup(rtype, id)`` returns a stored export/import or None.
    """
    steps = [("exports", eid) for eid in page_generator_ids(flow)]
    steps += [("imports" if kind == "import" else "exports", sid) for kind, sid in processor_steps(flow)]
    return step_connections(steps, lookup)


def step_connections(steps: list[tuple[str, str]], lookup: Callable[[str, str], Doc | None]) -> list[str]:
    """Return the distinct connection ids of ``(rtype, id)`` steps, in order (unknown steps skipped)."""
    found: list[str] = []
    for rtype, step_id in steps:
        doc = lookup(rtype, step_id)
        conn = doc.get("_connectionId") if doc else None
        if isinstance(conn, str) and conn not in found:
            found.append(conn)
    return found


def remap_flow_refs(flow: Doc, id_map: dict[str, str]) -> Doc:
    """Return a copy of ``flow`` whose page generator/processor references follow ``id_map``."""
    out = dict(flow)
    if out.get("pageGenerators"):
        out["pageGenerators"] = [_remap(pg, id_map) for pg in out["pageGenerators"]]
    if out.get("pageProcessors"):
        out["pageProcessors"] = [_remap(pp, id_map) for pp in out["pageProcessors"]]
    if out.get("routers"):
        routers = []
        for router in out["routers"]:
            router = dict(router)
            router["branches"] = [
                {**branch, "pageProcessors": [_remap(pp, id_map) for pp in branch.get("pageProcessors") or []]}
                for branch in router.get("branches") or []
            ]
            routers.append(router)
        out["routers"] = routers
    for key in ("_exportId", "_importId"):
        if isinstance(out.get(key), str):
            out[key] = id_map.get(out[key], out[key])
    return out


def _remap(item: Any, id_map: dict[str, str]) -> Any:
    if not isinstance(item, dict):
        return item
    out = dict(item)
    for key in ("_exportId", "_importId"):
        if isinstance(out.get(key), str):
            out[key] = id_map.get(out[key], out[key])
    return out
