"""Pure helpers for integrator.io documents and operator inputs: coercion of arguments, deep merge, the JSON
Patch that an update implies, a flow's steps and the summary of a clone answer. No HTTP here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from airflow_provider_celigo._validation import check_id
from airflow_provider_celigo.exceptions import CeligoConfigError
from airflow_provider_celigo.resource_types import (
    MASKED_VALUE,
    ResourceType,
    masked_paths,
    pointer,
    type_for_model,
)

BATCH_SIZE = 1000
# integrator.io refuses a lookup-cache upsert over 5 MB (celigo/ai configuring-lookup-caches); 10**6-byte MB,
# the smaller reading, so that a batch fits whichever the service means.
LOOKUP_BATCH_BYTES = 5_000_000


# -- argument coercion ----------------------------------------------------------------------------------


def as_json_object(value: Any, what: str = "body") -> dict[str, Any]:
    """Return ``value`` as a dict: a mapping, or a string holding a JSON object.

    Raises CeligoConfigError for anything else (a list, a number, invalid JSON).
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise CeligoConfigError(f"{what} is not valid JSON: {error}") from None
    if not isinstance(value, Mapping):
        raise CeligoConfigError(f"{what} must be a JSON object (a dict), got {type(value).__name__}")
    return dict(value)


def query_params(filters: Mapping[str, Any]) -> dict[str, Any]:
    """Return list filters as query parameters; booleans become ``true``/``false`` as integrator.io spells them."""
    return {key: (str(value).lower() if isinstance(value, bool) else value) for key, value in filters.items()}


def as_connection_map(value: Any) -> dict[str, str]:
    """Return a connection map ``{source connection id: target connection id}`` with checked ids.

    Accepts None (empty map), a mapping or a JSON string. Raises CeligoConfigError for a bad id.
    """
    if value is None or value == "":
        return {}
    mapping = as_json_object(value, "connection_map")
    return {
        check_id(source, "connection_map key"): check_id(target, f"connection_map[{source!r}]")
        for source, target in mapping.items()
    }


def as_lookup_entries(entries: Any) -> list[dict[str, str]]:
    """Return lookup-cache entries as ``[{"key": str, "value": str}]``.

    Accepts a ``{key: value}`` mapping, a list of ``{"key", "value"}`` dicts or of ``(key, value)`` pairs (rows
    of a warehouse query), or any of these as a JSON string.
    Integer keys become strings. integrator.io stores only string values, so any other value is JSON-encoded
    (compact, as Celigo's CLI does): ``{"id": 1}`` is stored as ``'{"id":1}'``, ``5`` as ``'5'``, ``None`` as
    ``'null'``. Raises CeligoConfigError for anything else, or for a value JSON cannot encode.
    """
    if isinstance(entries, str):
        try:
            entries = json.loads(entries)
        except ValueError as error:
            raise CeligoConfigError(f"lookup cache entries are not valid JSON: {error}") from None
    if isinstance(entries, Mapping):
        return [{"key": _lookup_key(key), "value": lookup_value(value, key)} for key, value in entries.items()]
    if isinstance(entries, Sequence) and not isinstance(entries, (str, bytes)):
        result = []
        for index, item in enumerate(entries):
            if isinstance(item, Mapping) and "key" in item:
                result.append({"key": _lookup_key(item["key"]), "value": lookup_value(item.get("value"), item["key"])})
            elif isinstance(item, (list, tuple)) and len(item) == 2:  # a (key, value) row from a query
                result.append({"key": _lookup_key(item[0]), "value": lookup_value(item[1], item[0])})
            else:
                raise CeligoConfigError(
                    f"lookup cache entry #{index} must be a dict with 'key' and 'value' or a (key, value) pair, "
                    f"got {item!r:.100}"
                )
        return result
    raise CeligoConfigError(
        "lookup cache entries must be a {key: value} mapping or a list of {'key': ..., 'value': ...} dicts, "
        f"got {type(entries).__name__}"
    )


def as_key_list(keys: Any, what: str = "keys") -> list[str]:
    """Return ``keys`` (one string, a list, or a JSON list string) as a list of strings.

    Raises CeligoConfigError for anything else.
    """
    if isinstance(keys, str):
        stripped = keys.strip()
        if stripped.startswith("["):
            try:
                keys = json.loads(stripped)
            except ValueError as error:
                raise CeligoConfigError(f"{what} is not a valid JSON list: {error}") from None
        else:
            keys = [keys]
    if not isinstance(keys, Iterable) or isinstance(keys, (bytes, Mapping)):
        raise CeligoConfigError(f"{what} must be a list of strings, got {type(keys).__name__}")
    return [_lookup_key(key) for key in keys]


def _lookup_key(key: Any) -> str:
    if isinstance(key, bool) or not isinstance(key, (str, int)):
        raise CeligoConfigError(f"a lookup cache key must be a string, got {key!r:.100}")
    return str(key)


def lookup_value(value: Any, key: Any = None) -> str:
    """Return a lookup-cache value as integrator.io stores it: a string as it is, anything else as compact JSON.

    Raises CeligoConfigError for a value JSON cannot encode (bytes, a set, NaN ...), naming its key.
    """
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise CeligoConfigError(
            f"the value of lookup cache key {key!r:.100} cannot be stored: integrator.io stores strings, and "
            f"{type(value).__name__} cannot be JSON-encoded ({error}). Pass a string or a JSON value."
        ) from None


def sized_batches(
    items: Sequence[Any], *, max_items: int = BATCH_SIZE, max_bytes: int, what: str = "item"
) -> Iterator[list[Any]]:
    """Yield ``items`` in lists of at most ``max_items`` whose JSON body ``{"data": [...]}`` (as the HTTP client
    encodes it) stays within ``max_bytes``. Raises CeligoConfigError for one item that alone is too large."""
    envelope = len(json.dumps({"data": []}).encode())
    batch: list[Any] = []
    size = envelope
    for item in items:
        item_size = len(json.dumps(item).encode())
        if envelope + item_size > max_bytes:
            raise CeligoConfigError(
                f"{what} {str(item)[:60]!r}... is {item_size} bytes as JSON; integrator.io takes at most {max_bytes} "
                "bytes per request, so it cannot be sent. Make it smaller or split it."
            )
        separator = 2 if batch else 0  # ", " between items
        if batch and (len(batch) >= max_items or size + separator + item_size > max_bytes):
            yield batch
            batch, size, separator = [], envelope, 0
        batch.append(item)
        size += separator + item_size
    if batch:
        yield batch


def batches(items: Sequence[Any], size: int = BATCH_SIZE) -> Iterator[list[Any]]:
    """Yield ``items`` in lists of at most ``size``, in order."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def refuse_masked(document: Any, what: str) -> None:
    """Raise CeligoConfigError naming every field of ``document`` that holds integrator.io's secret mask."""
    found = list(masked_paths(document))
    if found:
        raise CeligoConfigError(
            f"{what} sets {', '.join(found)} to the mask {MASKED_VALUE!r}, which integrator.io shows in place of "
            "a secret; writing it back would replace the real secret. Pass the real value, or leave the field "
            "out to keep the stored secret."
        )


# -- documents: merging and diffing ---------------------------------------------------------------------


def _without_nones(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nones(item) for key, item in value.items() if item is not None}
    return value


def deep_merge(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``current`` with ``changes`` merged in: objects merge key by key, other values replace.

    A ``None`` in ``changes`` removes the field (as in a JSON Merge Patch).
    """
    merged = dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = _without_nones(value)
    return merged


def patch_operations(current: Mapping[str, Any], changes: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the JSON Patch that turns ``current`` into ``deep_merge(current, changes)``.

    Unchanged values produce no operation; a ``None`` in ``changes`` becomes ``remove``.
    """
    return list(_diff(current, changes, ()))


def _diff(current: Mapping[str, Any], changes: Mapping[str, Any], prefix: tuple[str, ...]) -> Iterator[dict]:
    for key, value in changes.items():
        path = (*prefix, str(key))
        exists = key in current
        if value is None:
            if exists:
                yield {"op": "remove", "path": pointer(path)}
        elif isinstance(value, Mapping) and exists and isinstance(current[key], Mapping):
            yield from _diff(current[key], value, path)
        elif not exists or current[key] != _without_nones(value):
            yield {"op": "replace" if exists else "add", "path": pointer(path), "value": _without_nones(value)}


def value_at(document: Any, path: str) -> tuple[bool, Any]:
    """Return ``(True, value)`` for the JSON Pointer ``path`` in ``document``, or ``(False, None)`` when absent."""
    current = document
    for raw in path.split("/")[1:]:
        segment = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, Mapping) and segment in current:
            current = current[segment]
        elif isinstance(current, list) and segment.isdigit() and int(segment) < len(current):
            current = current[int(segment)]
        else:
            return False, None
    return True, current


def repeats_differently(operation: Mapping[str, Any]) -> bool:
    """True for a JSON Patch operation that does something else when applied twice.

    ``remove`` fails the second time, ``move``/``copy`` and inserts into a list (``add`` at an index or ``-``)
    act again; ``replace``, ``test`` and ``add`` of an object member give the same document.
    """
    op = operation.get("op")
    if op in ("remove", "move", "copy"):
        return True
    last = str(operation.get("path", "")).rsplit("/", 1)[-1]
    return op == "add" and (last == "-" or last.isdigit())


# -- flows: which steps and connections they use --------------------------------------------------------


def flow_steps(flow: Mapping[str, Any]) -> Iterator[tuple[ResourceType, str]]:
    """Yield ``(type, id)`` of every export and import a flow uses (page generators, processors, branches)."""
    if flow.get("_exportId"):
        yield ResourceType.EXPORTS, flow["_exportId"]
    if flow.get("_importId"):
        yield ResourceType.IMPORTS, flow["_importId"]
    for generator in flow.get("pageGenerators") or []:
        if isinstance(generator, Mapping) and generator.get("_exportId"):
            yield ResourceType.EXPORTS, generator["_exportId"]
    processors = list(flow.get("pageProcessors") or [])
    for router in flow.get("routers") or []:
        for branch in (router or {}).get("branches") or []:
            processors.extend((branch or {}).get("pageProcessors") or [])
    for processor in processors:
        if not isinstance(processor, Mapping):
            continue
        if processor.get("_exportId"):
            yield ResourceType.EXPORTS, processor["_exportId"]
        if processor.get("_importId"):
            yield ResourceType.IMPORTS, processor["_importId"]


def clone_summary(kind: ResourceType, answer: Any, target_integration_id: str | None) -> dict[str, Any]:
    """Return ``{"integration_id", "resources", "flow_ids"}`` from a clone answer (manifest or document)."""
    if isinstance(answer, list):
        items = [item for item in answer if isinstance(item, Mapping)]
    elif isinstance(answer, Mapping) and answer.get("_id"):
        items = [{"model": kind.model, **answer}]
    else:
        items = []
    resources = [{"model": item.get("model"), "_id": item.get("_id"), "name": item.get("name")} for item in items]
    integration_id = next(
        (r["_id"] for r in resources if type_for_model(r["model"]) is ResourceType.INTEGRATIONS), None
    )
    if integration_id is None and isinstance(answer, Mapping):
        integration_id = answer.get("_integrationId")
    if integration_id is None and kind is ResourceType.FLOWS:
        integration_id = target_integration_id
    flow_ids = [r["_id"] for r in resources if type_for_model(r["model"]) is ResourceType.FLOWS and r["_id"]]
    return {"integration_id": integration_id, "resources": resources, "flow_ids": flow_ids}
