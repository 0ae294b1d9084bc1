"""Airflow pools for Celigo connections: naming, the ``pools sync`` plan, and an opt-in task policy.

**Naming.** Every Celigo connection's tasks share the pool ``celigo_<conn_id>``; a connection that borrows its
concurrency (extra ``borrow_concurrency_from``) shares its lender's pool. The pool has ``concurrency_level``
slots and ``include_deferred=True``, so a deferred task that waits on a job keeps its slot.

**Creating pools.** Pools are admin configuration: Airflow 3 gives task code, DAG parsing and triggers no
database access, so hooks and operators never create them. ``airflow-celigo pools sync`` (see ``cli.py``)
runs where ``airflow pools set`` would: it reads every Celigo connection (metadata DB and ``AIRFLOW_CONN_*``),
validates it and creates or resizes its pool through ``Pool.create_or_update_pool``.

**Putting tasks into their pool.** ``celigo_pool_policy(task)`` is meant to be called from the deployment's
``airflow_local_settings.py``::

    from airflow_provider_celigo.pools import celigo_pool_policy

    def task_policy(task):
        celigo_pool_policy(task)

It is pure string work (no connection or database look-up: policies run while DAGs are parsed). Because a
task whose pool does not exist is never scheduled, the policy only assigns pools the deployment *declares*
as synced, in Airflow config ``[celigo] synced_pools`` (env ``AIRFLOW__CELIGO__SYNCED_POOLS``): a comma
separated list of pool names, or ``*`` once ``pools sync`` runs in the deployment pipeline. With the setting
absent the policy changes nothing, so a first run without set-up runs in ``default_pool`` instead of hanging.
``pools sync`` prints the values to declare. We chose this declared marker over guessing because the only
way to know a pool exists is a database query, which a parse-time policy must not (and in Airflow 3 cannot)
make.

A borrower's pool is its lender's, which only a connection look-up reveals. Either set ``pool=`` on such
tasks, or declare the loans in ``[celigo] pool_overrides`` (``borrower=lender`` pairs, comma separated;
``pools sync`` prints them too). Tasks with an explicit pool, a templated ``celigo_conn_id`` or no
``celigo_conn_id`` are left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_celigo.errors import CeligoConfigError
from airflow_provider_celigo.settings import DEFAULT_CONN_ID, ConnectionLike, pool_name_for, settings_from_connection

DEFAULT_POOL = "default_pool"
CONFIG_SECTION = "celigo"
SYNCED_POOLS_KEY = "synced_pools"
OVERRIDES_KEY = "pool_overrides"

__all__ = [
    "ConnectionProblem",
    "DesiredPool",
    "PoolChange",
    "celigo_pool_policy",
    "desired_pools",
    "plan_changes",
    "pool_name_for",
]


@dataclass(frozen=True)
class DesiredPool:
    """The pool one lender's connections should share."""

    name: str
    slots: int
    owner: str
    members: tuple[str, ...]

    @property
    def borrowers(self) -> tuple[str, ...]:
        """The member connections that borrow the owner's concurrency."""
        return tuple(m for m in self.members if m != self.owner)

    @property
    def description(self) -> str:
        """The pool description, naming the connection (and its borrowers)."""
        shared = f"; shared by {', '.join(repr(b) for b in self.borrowers)}" if self.borrowers else ""
        return (
            f"Celigo integrator.io connection {self.owner!r}: at most {self.slots} tasks at once, deferred "
            f"included{shared}. Managed by 'airflow-celigo pools sync'."
        )


@dataclass(frozen=True)
class PoolChange:
    """What ``pools sync`` does to one pool: ``create``, ``resize``, ``update`` (include_deferred) or ``ok``."""

    action: str
    pool: DesiredPool
    old_slots: int | None = None
    old_include_deferred: bool | None = None

    @property
    def writes(self) -> bool:
        """True when the pool must be written."""
        return self.action != "ok"

    def line(self) -> str:
        """One output line, e.g. ``resize celigo_x 3 -> 5``."""
        name, slots = self.pool.name, self.pool.slots
        if self.action == "create":
            return f"create {name} slots={slots} include_deferred=True"
        if self.action == "ok":
            return f"ok {name} slots={slots}"
        deferred = "" if self.old_include_deferred else f" include_deferred {self.old_include_deferred} -> True"
        if self.action == "resize":
            return f"resize {name} {self.old_slots} -> {slots}{deferred}"
        return f"update {name} slots={slots}{deferred}"


@dataclass(frozen=True)
class ConnectionProblem:
    """A connection ``pools sync`` skipped, with the reason (never the token)."""

    conn_id: str
    message: str

    def line(self) -> str:
        """One output line, ``error <conn_id>: <message>``."""
        return f"error {self.conn_id}: {self.message}"


Lookup = Callable[[str], ConnectionLike]


def desired_pools(
    connections: Mapping[str, ConnectionLike], lookup: Lookup
) -> tuple[list[DesiredPool], list[ConnectionProblem]]:
    """Validate each connection and group the valid ones by the pool they share.

    ``lookup`` fetches a lender by id. Returns the pools sorted by name, and the connections refused.
    """
    slots: dict[str, int] = {}
    members: dict[str, list[str]] = {}
    problems: list[ConnectionProblem] = []
    for conn_id in sorted(connections):
        try:
            settings = settings_from_connection(connections[conn_id], lookup)
        except CeligoConfigError as error:
            problems.append(ConnectionProblem(conn_id, str(error)))
            continue
        except Exception as error:  # e.g. a password encrypted with another Fernet key
            problems.append(ConnectionProblem(conn_id, f"cannot read this connection ({type(error).__name__})"))
            continue
        owner = settings.concurrency_owner
        slots[owner] = settings.concurrency_level
        members.setdefault(owner, []).append(conn_id)
    pools = [
        DesiredPool(pool_name_for(owner), slots[owner], owner, tuple(sorted(members[owner], key=lambda m: m != owner)))
        for owner in sorted(slots)
    ]
    return pools, problems


def plan_changes(pools: list[DesiredPool], existing: Mapping[str, tuple[int, bool]]) -> list[PoolChange]:
    """Compare the wanted pools with the existing ones (name -> (slots, include_deferred))."""
    changes = []
    for pool in pools:
        current = existing.get(pool.name)
        if current is None:
            changes.append(PoolChange("create", pool))
            continue
        old_slots, old_deferred = current
        if old_slots != pool.slots:
            action = "resize"
        elif not old_deferred:
            action = "update"
        else:
            action = "ok"
        changes.append(PoolChange(action, pool, old_slots, bool(old_deferred)))
    return changes


def policy_settings(pools: list[DesiredPool]) -> dict[str, str]:
    """Return the ``[celigo]`` settings that let ``celigo_pool_policy`` assign these pools."""
    loans = [f"{b}={p.owner}" for p in pools for b in p.borrowers]
    settings = {SYNCED_POOLS_KEY: ",".join(p.name for p in pools)}
    if loans:
        settings[OVERRIDES_KEY] = ",".join(loans)
    return settings


def parse_synced_pools(text: str) -> frozenset[str]:
    """Parse ``[celigo] synced_pools``: pool names separated by commas or spaces, or ``*``."""
    return frozenset(part for part in text.replace(",", " ").split() if part)


def parse_overrides(text: str) -> dict[str, str]:
    """Parse ``[celigo] pool_overrides``: ``borrower=lender`` pairs separated by commas or spaces."""
    pairs: dict[str, str] = {}
    for part in text.replace(",", " ").split():
        borrower, sep, lender = part.partition("=")
        if not sep or not borrower.strip() or not lender.strip():
            raise CeligoConfigError(
                f"Airflow config [{CONFIG_SECTION}] {OVERRIDES_KEY} has {part!r}; write borrower=lender pairs "
                "of Celigo connection ids, separated by commas, e.g. 'celigo_b=celigo_a'."
            )
        pairs[borrower.strip()] = lender.strip()
    return pairs


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
