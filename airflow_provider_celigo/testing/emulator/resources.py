"""The resource types the emulator serves: model names, required fields and PATCH whitelists."""

from __future__ import annotations

from dataclasses import dataclass

_BASIC_PATCH = ("/name", "/description")


@dataclass(frozen=True)
class ResourceType:
    """How one resource type (``/v1/<plural>``) behaves.

    ``patch_paths`` are JSON-pointer patterns: ``*`` matches one segment, a trailing ``**`` any
    non-empty rest. ``secret_depth`` is the shallowest nesting level whose secret-named keys are
    masked (1 = top level, 2 = inside a block such as ``http``); None means no secrets.
    """

    plural: str
    model: str
    required: tuple[str, ...] = ()
    patch_paths: tuple[str, ...] = _BASIC_PATCH
    secret_depth: int | None = None


RESOURCE_TYPES: dict[str, ResourceType] = {
    rt.plural: rt
    for rt in (
        ResourceType(
            "integrations",
            "Integration",
            ("name",),
            ("/name", "/description", "/readme", "/settings", "/settings/**", "/tag"),
        ),
        ResourceType(
            "flows",
            "Flow",
            ("name",),
            (
                "/name",
                "/description",
                "/schedule",
                "/timezone",
                "/disabled",
                "/runPageGeneratorsInParallel",
                "/pageGenerators/*/schedule",
                "/pageGenerators/*/skipRetries",
                "/routers/*/name",
                "/routers/*/branches/*/name",
                "/routers/*/branches/*/description",
                "/aliases",
                "/aliases/**",
            ),
        ),
        ResourceType("exports", "Export"),
        ResourceType("imports", "Import"),
        ResourceType(
            "connections",
            "Connection",
            ("type",),
            ("/name", "/debugDate", "/http/ping/**", "/http/auth/**", "/rest/cookieAuth/**"),
            secret_depth=2,
        ),
        ResourceType("scripts", "Script", ("name",), ("/name", "/description", "/content")),
        ResourceType("lookupcaches", "LookupCache", ("name",)),
        ResourceType("agents", "Agent", ("name",)),
        ResourceType("iclients", "IClient", (), secret_depth=2),
        ResourceType("stacks", "Stack", ("name",)),
        ResourceType("apis", "Api", ("name",), ("/name", "/description", "/version")),
        ResourceType("accesstokens", "AccessToken", (), ("/name", "/description"), secret_depth=1),
        ResourceType("tags", "Tag", ("tag",), ("/tag", "/name", "/description")),
    )
}

MODEL_TO_PLURAL = {rt.model.lower(): rt.plural for rt in RESOURCE_TYPES.values()}

# Collections whose empty list may answer 204 No Content (see config ``empty_list_204``).
EMPTY_204_TYPES = frozenset({"flows", "connections"})

CLONEABLE = frozenset({"integrations", "flows", "exports", "imports"})


def resource_type(name: str) -> ResourceType | None:
    """Return the type for a plural path segment or a model name (``flows``, ``Flow``), else None."""
    found = RESOURCE_TYPES.get(name)
    if found is not None:
        return found
    plural = MODEL_TO_PLURAL.get(name.lower()) or MODEL_TO_PLURAL.get(name.lower().rstrip("s"))
    return RESOURCE_TYPES.get(plural) if plural else None
