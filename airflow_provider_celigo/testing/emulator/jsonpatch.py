"""RFC-6902 JSON Patch (add, replace, remove, test) limited to whitelisted paths."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["PatchError", "apply_patch"]


class PatchError(ValueError):
    """A patch that cannot be applied; ``path`` names the offending operation path."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


def parse_pointer(pointer: str) -> list[str]:
    """Return the unescaped segments of a JSON pointer. Raises PatchError for a malformed pointer."""
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise PatchError(f"path {pointer!r} must be a JSON pointer starting with '/'", str(pointer))
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def path_allowed(segments: list[str], patterns: tuple[str, ...]) -> bool:
    """Return True when ``segments`` match one of the whitelist ``patterns``."""
    return any(_matches(segments, pattern[1:].split("/")) for pattern in patterns)


def _matches(segments: list[str], pattern: list[str]) -> bool:
    for index, part in enumerate(pattern):
        if part == "**":
            return len(segments) > index
        if index >= len(segments) or (part != "*" and part != segments[index]):
            return False
    return len(segments) == len(pattern)


def apply_patch(doc: dict[str, Any], operations: Any, patterns: tuple[str, ...]) -> dict[str, Any]:
    """Return a patched copy of ``doc``. Raises PatchError for a bad or non-whitelisted operation.

    ``replace`` on a missing object member adds it (integrator.io accepts that for optional fields).
    """
    if not isinstance(operations, list) or not operations:
        raise PatchError("body must be a non-empty JSON Patch array")
    result = copy.deepcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise PatchError("each operation needs 'op' and 'path'")
        segments = parse_pointer(operation["path"])
        if not path_allowed(segments, patterns):
            raise PatchError(f"path {operation['path']} is not patchable", operation["path"])
        _apply_one(result, operation, segments)
    return result


def _apply_one(doc: dict[str, Any], operation: dict[str, Any], segments: list[str]) -> None:
    op, path = operation["op"], operation["path"]
    if op in ("add", "replace", "test") and "value" not in operation:
        raise PatchError(f"operation {op} on {path} needs a 'value'", path)
    parent: Any = doc
    for segment in segments[:-1]:
        parent = _child(parent, segment, path)
    last = segments[-1]
    if op == "test":
        if _child(parent, last, path) != operation["value"]:
            raise PatchError(f"test failed at {path}", path)
    elif op in ("add", "replace"):
        _set(parent, last, copy.deepcopy(operation["value"]), op, path)
    elif op == "remove":
        _remove(parent, last, path)
    else:
        raise PatchError(f"operation {op!r} is not supported", path)


def _child(container: Any, segment: str, path: str) -> Any:
    if isinstance(container, dict) and segment in container:
        return container[segment]
    if isinstance(container, list) and segment.isdigit() and int(segment) < len(container):
        return container[int(segment)]
    raise PatchError(f"path {path} does not exist", path)


def _set(container: Any, segment: str, value: Any, op: str, path: str) -> None:
    if isinstance(container, dict):
        container[segment] = value
    elif isinstance(container, list):
        if segment == "-" and op == "add":
            container.append(value)
        elif segment.isdigit() and int(segment) < len(container) + (op == "add"):
            if op == "add":
                container.insert(int(segment), value)
            else:
                container[int(segment)] = value
        else:
            raise PatchError(f"index in {path} is out of range", path)
    else:
        raise PatchError(f"path {path} does not exist", path)


def _remove(container: Any, segment: str, path: str) -> None:
    if isinstance(container, dict) and segment in container:
        del container[segment]
    elif isinstance(container, list) and segment.isdigit() and int(segment) < len(container):
        del container[int(segment)]
    else:
        raise PatchError(f"path {path} does not exist", path)
