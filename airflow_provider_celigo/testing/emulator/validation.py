"""Validation of resource bodies on create, replace and patch (422 with ``field``)."""

from __future__ import annotations

from typing import Any

from .errors import ApiError
from .flowgraph import page_generator_ids, processor_steps
from .resources import ResourceType
from .store import AccountStore

__all__ = ["validate_doc"]

_BOOL_FIELDS = {
    "flows": ("disabled", "runPageGeneratorsInParallel"),
    "connections": ("offline",),
}
_LIST_FIELDS = {
    "flows": ("pageGenerators", "pageProcessors", "routers"),
    "integrations": ("_registeredConnectionIds",),
}


def _invalid(field: str, message: str, code: str = "invalid_field") -> ApiError:
    return ApiError(422, code, message, field)


def validate_doc(store: AccountStore, rtype: ResourceType, body: Any, *, check_refs: bool) -> dict[str, Any]:
    """Return ``body`` when it is a valid document of ``rtype``. Raises ApiError 422 naming the field."""
    if not isinstance(body, dict):
        raise _invalid("body", "The request body must be a JSON object.", "invalid_body")
    for name in rtype.required:
        if body.get(name) in (None, ""):
            raise _invalid(name, f"{name} is required.", "missing_required_field")
    for name in ("name", "description", "type") if rtype.plural == "connections" else ("name", "description"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise _invalid(name, f"{name} must be a string.")
    for name in _BOOL_FIELDS.get(rtype.plural, ()):
        if name in body and not isinstance(body[name], bool):
            raise _invalid(name, f"{name} must be a boolean.")
    for name in _LIST_FIELDS.get(rtype.plural, ()):
        if name in body and not isinstance(body[name], list):
            raise _invalid(name, f"{name} must be an array.")
    if check_refs:
        _check_refs(store, rtype.plural, body)
    return body


def _check_ref(store: AccountStore, target: str, value: Any, field: str, model: str) -> None:
    if value is None:
        return
    if not isinstance(value, str) or store.get(target, value) is None:
        raise _invalid(field, f"{model} {value!r} not found.", "invalid_ref")


def _check_refs(store: AccountStore, plural: str, body: dict[str, Any]) -> None:
    if plural in ("flows", "exports", "imports"):
        _check_ref(store, "integrations", body.get("_integrationId"), "_integrationId", "Integration")
    if plural in ("exports", "imports"):
        _check_ref(store, "connections", body.get("_connectionId"), "_connectionId", "Connection")
    if plural == "flows":
        for index, export_id in enumerate(page_generator_ids(body)):
            _check_ref(store, "exports", export_id, f"pageGenerators[{index}]._exportId", "Export")
        for index, (kind, step_id) in enumerate(processor_steps(body)):
            target = "imports" if kind == "import" else "exports"
            field = f"pageProcessors[{index}]._{'importId' if kind == 'import' else 'exportId'}"
            _check_ref(store, target, step_id, field, kind.capitalize())
