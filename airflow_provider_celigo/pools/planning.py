"""The ``pools sync`` plan: which pool each Celigo connection needs, and what to change to get there."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from airflow_provider_celigo.connection import ConnectionLike, pool_name_for, settings_from_connection
from airflow_provider_celigo.exceptions import CeligoConfigError

__all__ = [
    "CONFIG_SECTION",
    "DEFAULT_POOL",
    "OVERRIDES_KEY",
    "SYNCED_POOLS_KEY",
    "ConnectionProblem",
    "DesiredPool",
    "PoolChange",
    "desired_pools",
    "parse_overrides",
    "parse_synced_pools",
    "plan_changes",
    "policy_settings",
]

DEFAULT_POOL = "default_pool"
CONFIG_SECTION = "celigo"
SYNCED_POOLS_KEY = "synced_pools"
OVERRIDES_KEY = "pool_overrides"


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
