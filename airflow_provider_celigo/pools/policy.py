"""``celigo_pool_policy``: the opt-in task policy that puts Celigo tasks into their connection's pool."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from airflow_provider_celigo.connection import DEFAULT_CONN_ID, pool_name_for
from airflow_provider_celigo.pools.planning import (
    CONFIG_SECTION,
    DEFAULT_POOL,
    OVERRIDES_KEY,
    SYNCED_POOLS_KEY,
    parse_overrides,
    parse_synced_pools,
)

__all__ = ["celigo_pool_policy"]


def _config_value(key: str) -> str:
    from airflow.configuration import conf

    return str(conf.get(CONFIG_SECTION, key, fallback="") or "")


def _celigo_conn_id_of(task: Any) -> Any:
    """Return a task's ``celigo_conn_id``; for a mapped task (``.partial().expand()``), the partial value or the
    operator's default. None when the task is not a Celigo task or its connection is itself mapped."""
    if not hasattr(task, "partial_kwargs") or not hasattr(task, "operator_class"):
        return getattr(task, "celigo_conn_id", None)
    from airflow_provider_celigo.operators.base import CeligoHookMixin

    if not (isinstance(task.operator_class, type) and issubclass(task.operator_class, CeligoHookMixin)):
        return None
    mapped = getattr(getattr(task, "expand_input", None), "value", None)
    if not isinstance(mapped, Mapping) or "celigo_conn_id" in mapped:
        return None  # expand_kwargs, or a connection per mapped task: only a look-up at run time could tell
    return task.partial_kwargs.get("celigo_conn_id", DEFAULT_CONN_ID)


def celigo_pool_policy(
    task: Any,
    *,
    synced_pools: Collection[str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> str | None:
    """Put a Celigo task into its connection's pool, if that pool is declared as synced.

    Call it from ``task_policy`` in ``airflow_local_settings.py``. Acts only on tasks (mapped ones included)
    with a plain string ``celigo_conn_id`` that still use ``default_pool``. ``synced_pools`` and ``overrides``
    default to Airflow config ``[celigo] synced_pools`` and ``[celigo] pool_overrides``. Returns the pool
    assigned, or None.
    """
    conn_id = _celigo_conn_id_of(task)
    if not isinstance(conn_id, str) or not conn_id.strip() or "{{" in conn_id or "{%" in conn_id:
        return None
    if getattr(task, "pool", None) not in (None, "", DEFAULT_POOL):
        return None
    synced = parse_synced_pools(_config_value(SYNCED_POOLS_KEY)) if synced_pools is None else synced_pools
    if not synced:
        return None
    loans = parse_overrides(_config_value(OVERRIDES_KEY)) if overrides is None else overrides
    pool = pool_name_for(loans.get(conn_id.strip(), conn_id.strip()))
    if "*" not in synced and pool not in synced:
        return None
    task.pool = pool
    return pool
