"""The integrator.io resource types the provider manages, and what it knows about each.

Per type: the API path, the model name integrator.io uses in clone manifests and the recycle bin,
whether ``PATCH`` (RFC 6902 JSON Patch) is accepted and for which paths, and which fields hold
secrets (integrator.io masks them as ``******`` when it returns a resource).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ResourceType",
    "as_resource_type",
    "valid_type_names",
]


MASKED_VALUE = "******"


class ResourceType(str, enum.Enum):
    """A resource type, named by its API path (``/v1/<value>``)."""

    CONNECTIONS = "connections"
    EXPORTS = "exports"
    IMPORTS = "imports"
    FLOWS = "flows"
    INTEGRATIONS = "integrations"
    SCRIPTS = "scripts"
    LOOKUPCACHES = "lookupcaches"
    AGENTS = "agents"
    ICLIENTS = "iclients"
    STACKS = "stacks"
    APIS = "apis"
    ACCESSTOKENS = "accesstokens"
    TAGS = "tags"

    def __str__(self) -> str:
        return self.value

    @property
    def facts(self) -> ResourceFacts:
        """What the provider knows about this type."""
        return RESOURCE_FACTS[self]

    @property
    def path(self) -> str:
        """The collection path, e.g. ``/connections``."""
        return f"/{self.value}"

    @property
    def model(self) -> str:
        """The model name integrator.io uses in manifests and the recycle bin, e.g. ``Connection``."""
        return self.facts.model

    @property
    def singular(self) -> str:
        """A readable singular for messages, e.g. ``connection``."""
        return self.facts.model.lower()

    @property
    def a_singular(self) -> str:
        """The singular with its indefinite article, for messages: ``a flow``, ``an export``, ``an iclient``."""
        singular = self.singular
        return f"{'an' if singular[:1] in 'aeiou' else 'a'} {singular}"


@dataclass(frozen=True)
class ResourceFacts:
    """Facts about one resource type.

    ``patch_paths`` are the JSON Pointer patterns integrator.io documents for a JSON Patch of the type;
    ``guessed_patch_paths`` are patterns the provider tries without a source (integrator.io says PATCH is
    supported for the type, not for which paths). ``*`` matches one segment, a trailing ``**`` one or more.
    A type with neither takes no PATCH.

    ``secret_fields`` are the dotted paths integrator.io masks as ``******`` (a trailing ``.*``: every value
    of that object). ``mask_keeps_secret`` is what writing the mask back does: True keeps the stored secret
    (iClients, documented; leaving the field out erases it), False stores the mask in place of the secret
    (connections, documented), None when no source says.
    """

    model: str
    patch_paths: tuple[str, ...] = ()
    guessed_patch_paths: tuple[str, ...] = ()
    secret_fields: tuple[str, ...] = ()
    mask_keeps_secret: bool | None = None

    @property
    def patchable(self) -> bool:
        """True when the provider sends a JSON Patch for this type (documented or guessed paths)."""
        return bool(self.patch_paths or self.guessed_patch_paths)

    @property
    def all_patch_paths(self) -> tuple[str, ...]:
        """The documented and the guessed patterns."""
        return self.patch_paths + self.guessed_patch_paths


# Flow and connection whitelists are Celigo's documented ones (help center "Flow API endpoints", "Connection
# API endpoints"); a script's ``/debugUntil`` can only be set by PATCH (celigo/ai writing-scripts schema). The
# guessed paths are the documented "PATCH is supported" types limited to fields that are safe to guess: when
# integrator.io refuses one, update_resource falls back to GET -> merge -> PUT.
# Secret fields: celigo/ai configuring-connections schemas (connection adaptor blocks, iclient-schemas/base.yml).
# Agents' and stacks' tokens are read through their own endpoints (display-token, systemToken), so their
# documents are treated as masking them; what writing the mask back does there is not documented.
RESOURCE_FACTS: dict[ResourceType, ResourceFacts] = {
    ResourceType.CONNECTIONS: ResourceFacts(
        model="Connection",
        patch_paths=("/name", "/debugDate", "/http/ping/**", "/http/auth/**", "/rest/cookieAuth/**"),
        # The connection's own concurrency (celigo/ai connection request.yml), tried by PATCH so that the
        # secrets are not part of the write; refused, the update falls back to GET -> merge -> PUT.
        guessed_patch_paths=("/*/concurrencyLevel", "/_borrowConcurrencyFromConnectionId"),
        secret_fields=(
            "http.auth.token.token",
            "http.auth.token.refreshToken",
            "http.auth.basic.password",
            "http.auth.oauth.clientSecret",
            "http.encrypted.*",
            "rest.bearerToken",
            "rest.basicAuth.password",
            "rest.refreshToken",
            "netsuite.password",
            "netsuite.tokenSecret",
            "netsuite.consumerSecret",
            "ftp.password",
            "ftp.authKey",
            "ftp.pgpPassphrase",
            "rdbms.password",
            "mongodb.password",
            "s3.secretAccessKey",
            "dynamodb.secretAccessKey",
            "salesforce.bearerToken",
            "salesforce.refreshToken",
        ),
        mask_keeps_secret=False,
    ),
    ResourceType.EXPORTS: ResourceFacts(model="Export"),
    ResourceType.IMPORTS: ResourceFacts(model="Import"),
    ResourceType.FLOWS: ResourceFacts(
        model="Flow",
        patch_paths=(
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
    ResourceType.INTEGRATIONS: ResourceFacts(
        model="Integration", guessed_patch_paths=("/name", "/description", "/settings", "/settings/**")
    ),
    ResourceType.SCRIPTS: ResourceFacts(
        model="Script", patch_paths=("/debugUntil",), guessed_patch_paths=("/name", "/description")
    ),
    ResourceType.LOOKUPCACHES: ResourceFacts(model="LookupCache"),
    ResourceType.AGENTS: ResourceFacts(model="Agent", secret_fields=("token",)),
    ResourceType.ICLIENTS: ResourceFacts(
        model="IClient",
        secret_fields=(
            "oauth2.clientSecret",
            "oauth2.password",
            "oauth2.encrypted.*",
            "netsuite.consumerKey",
            "netsuite.consumerSecret",
            "salesforce.clientSecret",
            "salesforce.privateKey",
            "ebay.certId",
            "amazonmws.secretKey",
            "azureserviceprincipal.clientSecret",
            "jwt.privateKey",
            "jwt.token",
            "jwt.secret",
        ),
        mask_keeps_secret=True,
    ),
    ResourceType.STACKS: ResourceFacts(model="Stack", secret_fields=("systemToken", "server.systemToken")),
    ResourceType.APIS: ResourceFacts(model="Api", guessed_patch_paths=("/name", "/description")),
    ResourceType.ACCESSTOKENS: ResourceFacts(model="AccessToken", secret_fields=("token",)),
    ResourceType.TAGS: ResourceFacts(model="Tag", guessed_patch_paths=("/tag",)),
}

_BY_VALUE = {kind.value: kind for kind in ResourceType}
_BY_MODEL = {facts.model.lower(): kind for kind, facts in RESOURCE_FACTS.items()}


def valid_type_names() -> list[str]:
    """Return the accepted type names, in declaration order."""
    return [kind.value for kind in ResourceType]


def as_resource_type(value: ResourceType | str) -> ResourceType:
    """Return the ResourceType for a path name (``flows``), a model name (``Flow``) or a singular (``flow``).

    Raises CeligoConfigError for anything else, listing the valid types and suggesting the closest one.
    """
    if isinstance(value, ResourceType):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    for candidate in (text, text.replace("_", "").replace("-", "").replace(" ", "")):
        found = _BY_VALUE.get(candidate) or _BY_MODEL.get(candidate)
        if found is not None:
            return found
    names = valid_type_names()
    import difflib  # only when a name is wrong: keeps DAG parsing light

    close = difflib.get_close_matches(text, names + list(_BY_MODEL), n=1, cutoff=0.6)
    hint = f" Did you mean {as_resource_type(close[0]).value!r}?" if close else ""
    # Imported here: the emulator reads this module's facts and must not load Airflow (exceptions does).
    from airflow_provider_celigo.exceptions import CeligoConfigError

    raise CeligoConfigError(f"unknown resource type {value!r}.{hint} Valid types: {', '.join(names)}.")


def type_for_model(model: Any) -> ResourceType | None:
    """Return the ResourceType of a manifest/recycle-bin model name (``LookupCache``), or None if unknown."""
    return _BY_MODEL.get(model.lower()) if isinstance(model, str) else None


def pointer(parts: tuple[str, ...] | list[str]) -> str:
    """Return the JSON Pointer for path segments, escaping ``~`` and ``/`` (RFC 6901)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def is_patchable_path(kind: ResourceType, path: str) -> bool:
    """Return True when ``path`` (a JSON Pointer) matches one of the type's PATCH patterns (documented or guessed)."""
    return path_matches(kind.facts.all_patch_paths, path)


def is_documented_patch_path(kind: ResourceType, path: str) -> bool:
    """Return True when ``path`` matches one of the type's documented PATCH patterns."""
    return path_matches(kind.facts.patch_paths, path)


def path_matches(patterns: tuple[str, ...], path: str) -> bool:
    """Return True when the JSON Pointer ``path`` matches one of ``patterns`` (``*`` one segment, ``**`` the rest).

    Segments are compared as written (escaped), so ``/a~1b`` matches the pattern segment ``a~1b``.
    """
    segments = path.split("/")[1:]
    return any(_pattern_matches(pattern.split("/")[1:], segments) for pattern in patterns)


def secret_field_matches(fields: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    """Return True when the path ``parts`` (``("http", "auth", "token", "token")``) is one of ``fields``.

    A field ending in ``.*`` matches every member of that object.
    """
    dotted = ".".join(parts)
    for field in fields:
        if field.endswith(".*"):
            if len(parts) >= 2 and ".".join(parts[:-1]) == field[:-2]:
                return True
        elif field == dotted:
            return True
    return False


def _pattern_matches(pattern: list[str], segments: list[str]) -> bool:
    for index, part in enumerate(pattern):
        if part == "**":
            return len(segments) > index
        if index >= len(segments) or part not in ("*", segments[index]):
            return False
    return len(segments) == len(pattern)


def masked_paths(document: Any, prefix: tuple[str, ...] = ()) -> Iterator[str]:
    """Yield the JSON Pointer of every value in ``document`` that is the mask ``******``."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield from masked_paths(value, (*prefix, str(key)))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from masked_paths(value, (*prefix, str(index)))
    elif document == MASKED_VALUE:
        yield pointer(prefix)


def without_masked_values(document: Any) -> Any:
    """Return a copy of ``document`` with every ``******`` value left out (object members dropped).

    A masked value inside a list is dropped from the list as well: it cannot be written back meaningfully.
    """
    if isinstance(document, dict):
        return {key: without_masked_values(value) for key, value in document.items() if value != MASKED_VALUE}
    if isinstance(document, list):
        return [without_masked_values(value) for value in document if value != MASKED_VALUE]
    return document
