"""Masking of secrets on read, and what a masked value written back does.

A type's secrets are its ``secret_fields`` (from the provider's facts, after the celigo/ai schemas) plus, for
connections and iClients, any secret-named key inside a block. Writing the mask ``******`` back keeps the
stored secret for iClients (their schema says so), stores the mask itself for connections (their guidance
says a GET -> PUT round trip corrupts the credential), and follows ``keep_secret_on_mask_write`` for the
types no source covers.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_celigo.resource_types import secret_field_matches

from .resources import ResourceType

__all__ = ["MASK", "contains_mask", "is_secret_key", "keeps_secret_on_mask_write", "masked", "restore_masked"]

MASK = "******"

SECRET_KEYS = frozenset(
    {
        "password",
        "token",
        "secret",
        "apikey",
        "clientsecret",
        "accesstoken",
        "refreshtoken",
        "tokensecret",
        "consumersecret",
        "privatekey",
        "passphrase",
        "secretkey",
        "secretaccesskey",
        "apisecret",
    }
)


def is_secret_key(key: str) -> bool:
    """Return True when a key name denotes a secret."""
    return key.lower() in SECRET_KEYS


def masked(doc: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """Return ``doc`` with its secrets replaced by ``******`` (a copy; ``doc`` itself if the type has none)."""
    if rtype.secret_depth is None and not rtype.secret_fields:
        return doc
    result: dict[str, Any] = _mask(doc, (), rtype)
    return result


def _is_secret(parts: tuple[str, ...], rtype: ResourceType) -> bool:
    if secret_field_matches(rtype.secret_fields, parts):
        return True
    return rtype.secret_depth is not None and len(parts) >= rtype.secret_depth and is_secret_key(parts[-1])


def _mask(value: Any, parts: tuple[str, ...], rtype: ResourceType) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            here = (*parts, str(key))
            if isinstance(item, (str, int, float)) and not isinstance(item, bool) and _is_secret(here, rtype):
                out[key] = MASK
            else:
                out[key] = _mask(item, here, rtype)
        return out
    if isinstance(value, list):
        return [_mask(item, parts, rtype) for item in value]
    return value


def keeps_secret_on_mask_write(rtype: ResourceType, default: bool) -> bool:
    """Return True when writing ``******`` back keeps the stored secret for this type (``default``: the config
    switch, for types no source covers)."""
    return default if rtype.mask_keeps_secret is None else rtype.mask_keeps_secret


def contains_mask(value: Any) -> bool:
    """Return True when any string inside ``value`` equals the mask ``******``."""
    if isinstance(value, str):
        return value == MASK
    if isinstance(value, dict):
        return any(contains_mask(item) for item in value.values())
    if isinstance(value, list):
        return any(contains_mask(item) for item in value)
    return False


def restore_masked(new: Any, old: Any) -> Any:
    """Return ``new`` with every ``******`` replaced by the value at the same place in ``old``.

    Places that have no stored value keep the literal mask.
    """
    if isinstance(new, str):
        return old if new == MASK and old is not None and not isinstance(old, (dict, list)) else new
    if isinstance(new, dict):
        old_dict = old if isinstance(old, dict) else {}
        return {key: restore_masked(item, old_dict.get(key)) for key, item in new.items()}
    if isinstance(new, list):
        old_list = old if isinstance(old, list) else []
        return [restore_masked(item, old_list[i] if i < len(old_list) else None) for i, item in enumerate(new)]
    return new
