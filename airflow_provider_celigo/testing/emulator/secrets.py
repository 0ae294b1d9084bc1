"""Masking of secrets on read, and detection of masked values written back."""

from __future__ import annotations

from typing import Any

from .resources import ResourceType

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
    """Return ``doc`` with its secrets replaced by ``******`` (a copy; ``doc`` itself if no secrets)."""
    if rtype.secret_depth is None:
        return doc
    return _mask(doc, 1, rtype.secret_depth)


def _mask(value: Any, depth: int, min_depth: int) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if depth >= min_depth and is_secret_key(key) and isinstance(item, (str, int, float)):
                out[key] = MASK
            else:
                out[key] = _mask(item, depth + 1, min_depth)
        return out
    if isinstance(value, list):
        return [_mask(item, depth, min_depth) for item in value]
    return value


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
