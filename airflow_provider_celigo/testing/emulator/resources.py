"""The resource types the emulator serves: model names, required fields, PATCH whitelists and secrets.

PATCH whitelists, secret fields and what writing a mask back does are the provider's own facts
(``airflow_provider_celigo.resource_types.RESOURCE_FACTS``), so the emulator and the hook cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_celigo.resource_types import RESOURCE_FACTS
from airflow_provider_celigo.resource_types import ResourceType as ProviderType

__all__ = ["CLONEABLE", "EMPTY_204_TYPES", "RESOURCE_TYPES", "ResourceType", "resource_type"]


@dataclass(frozen=True)
class ResourceType:
    """How one resource type (``/v1/<plural>``) behaves.

    ``patch_paths`` are the documented JSON-pointer patterns, ``guessed_patch_paths`` the ones the provider
    tries without a source (accepted unless the config switch ``accept_guessed_patch_paths`` is off): ``*``
    matches one segment, a trailing ``**`` any non-empty rest. ``secret_fields`` are dotted paths masked on
    every read; ``secret_depth`` additionally masks secret-named keys from that nesting level on (1 = top
    level, 2 = inside a block such as ``http``), for fields no schema lists; None: only ``secret_fields``.
    ``mask_keeps_secret``: writing ``******`` back keeps the stored secret (True), stores the mask (False),
    or follows the config switch ``keep_secret_on_mask_write`` (None, undocumented).
    """

    plural: str
    model: str
    required: tuple[str, ...] = ()
    patch_paths: tuple[str, ...] = ()
    guessed_patch_paths: tuple[str, ...] = ()
    secret_fields: tuple[str, ...] = ()
    secret_depth: int | None = None
    mask_keeps_secret: bool | None = None

    def allowed_patch_paths(self, accept_guessed: bool) -> tuple[str, ...]:
        """Return the patterns a PATCH may touch."""
        return self.patch_paths + self.guessed_patch_paths if accept_guessed else self.patch_paths


_REQUIRED: dict[ProviderType, tuple[str, ...]] = {
    ProviderType.INTEGRATIONS: ("name",),
    ProviderType.FLOWS: ("name",),
    ProviderType.CONNECTIONS: ("type",),
    ProviderType.SCRIPTS: ("name",),
    ProviderType.LOOKUPCACHES: ("name",),
    ProviderType.AGENTS: ("name",),
    ProviderType.STACKS: ("name",),
    ProviderType.APIS: ("name",),
    ProviderType.TAGS: ("tag",),
}
# Connections and iClients carry many adaptor blocks: secret-named keys inside them are masked too.
_SECRET_DEPTH: dict[ProviderType, int] = {ProviderType.CONNECTIONS: 2, ProviderType.ICLIENTS: 2}
_ORDER = (
    ProviderType.INTEGRATIONS,
    ProviderType.FLOWS,
    ProviderType.EXPORTS,
    ProviderType.IMPORTS,
    ProviderType.CONNECTIONS,
    ProviderType.SCRIPTS,
    ProviderType.LOOKUPCACHES,
    ProviderType.AGENTS,
    ProviderType.ICLIENTS,
    ProviderType.STACKS,
    ProviderType.APIS,
    ProviderType.ACCESSTOKENS,
    ProviderType.TAGS,
)


def _from_facts(kind: ProviderType) -> ResourceType:
    facts = RESOURCE_FACTS[kind]
    return ResourceType(
        plural=kind.value,
        model=facts.model,
        required=_REQUIRED.get(kind, ()),
        patch_paths=facts.patch_paths,
        guessed_patch_paths=facts.guessed_patch_paths,
        secret_fields=facts.secret_fields,
        secret_depth=_SECRET_DEPTH.get(kind),
        mask_keeps_secret=facts.mask_keeps_secret,
    )


RESOURCE_TYPES: dict[str, ResourceType] = {kind.value: _from_facts(kind) for kind in _ORDER}

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
