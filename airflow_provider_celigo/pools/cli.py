"""``airflow-celigo``: admin commands for the Celigo provider.

``airflow-celigo pools sync [--dry-run] [--conn-id ID ...]`` creates or resizes the pool ``celigo_<owner>``
of every Celigo connection (metadata DB and ``AIRFLOW_CONN_*``) to its ``concurrency_level``, with
``include_deferred=True``. Run it where ``airflow pools set`` runs: it needs the metadata database.
Prints one line per pool on stdout (``create``/``resize``/``update``/``ok``; Airflow's own log lines may appear
there too) and one ``error <conn_id>: ...`` line per refused connection on stderr.
Exit codes: 0 all good, 1 some connection was refused, 2 bad arguments, 3 the database could not be used.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from airflow_provider_celigo.connection import CONN_TYPE, ConnectionLike
from airflow_provider_celigo.pools.planning import (
    CONFIG_SECTION,
    ConnectionProblem,
    DesiredPool,
    PoolChange,
    desired_pools,
    plan_changes,
    policy_settings,
)

__all__ = ["build_parser", "main"]

ENV_PREFIX = "AIRFLOW_CONN_"
EXIT_OK, EXIT_BAD_CONNECTION, EXIT_DB_ERROR = 0, 1, 3


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``airflow-celigo``."""
    parser = argparse.ArgumentParser(prog="airflow-celigo", description="Admin commands for Celigo connections.")
    groups = parser.add_subparsers(dest="group", required=True)
    pools = groups.add_parser("pools", help="Airflow pools that cap each Celigo connection's tasks.")
    actions = pools.add_subparsers(dest="action", required=True)
    sync = actions.add_parser(
        "sync", help="Create or resize the pool celigo_<conn_id> of every Celigo connection to its concurrency_level."
    )
    sync.add_argument("--dry-run", action="store_true", help="print what would change and change nothing")
    sync.add_argument(
        "--conn-id",
        dest="conn_ids",
        action="extend",
        nargs="+",
        metavar="ID",
        help="only these connections (repeatable); a borrower syncs its lender's pool",
    )
    return parser


def env_connections() -> tuple[dict[str, ConnectionLike], list[ConnectionProblem]]:
    """Return the Celigo connections defined as ``AIRFLOW_CONN_<ID>`` (id lower-cased), and unreadable ones."""
    from airflow.secrets.environment_variables import EnvironmentVariablesBackend

    backend = EnvironmentVariablesBackend()
    found: dict[str, ConnectionLike] = {}
    problems: list[ConnectionProblem] = []
    for name in sorted(os.environ):
        if not name.startswith(ENV_PREFIX) or name.startswith(ENV_PREFIX + "_"):
            continue  # AIRFLOW_CONN__<TEAM>___<ID> belongs to a team namespace
        conn_id = name[len(ENV_PREFIX) :].lower()
        try:
            conn = backend.get_connection(conn_id)
        except Exception as error:
            if CONN_TYPE in os.environ[name].lower():
                problems.append(
                    ConnectionProblem(conn_id, f"{name} is neither a connection URI nor JSON ({type(error).__name__})")
                )
            continue
        if conn is not None and conn.conn_type == CONN_TYPE:
            found[conn_id] = conn
    return found, problems


def db_connections(session: Any) -> dict[str, ConnectionLike]:
    """Return the Celigo connections stored in the metadata database."""
    from airflow.models import Connection
    from sqlalchemy import select

    rows = session.scalars(select(Connection).where(Connection.conn_type == CONN_TYPE))
    return {row.conn_id: row for row in rows}


def _from_secrets(conn_id: str) -> ConnectionLike:
    """Fetch any connection through Airflow's secrets backends (env, custom backend, metadata DB)."""
    from airflow.models import Connection

    return Connection.get_connection_from_secrets(conn_id)


def select_connections(
    known: dict[str, ConnectionLike], conn_ids: Sequence[str] | None
) -> tuple[dict[str, ConnectionLike], list[ConnectionProblem]]:
    """Return the connections to sync: all known ones, or the ``--conn-id`` ones (looked up everywhere)."""
    if not conn_ids:
        return dict(known), []
    chosen: dict[str, ConnectionLike] = {}
    problems: list[ConnectionProblem] = []
    for conn_id in dict.fromkeys(conn_ids):
        conn = known.get(conn_id)
        if conn is None:
            try:
                conn = _from_secrets(conn_id)
            except Exception:
                problems.append(ConnectionProblem(conn_id, "no connection with this id in Airflow"))
                continue
        if conn.conn_type != CONN_TYPE:
            problems.append(ConnectionProblem(conn_id, f"has type {conn.conn_type!r}, not {CONN_TYPE!r}"))
            continue
        chosen[conn_id] = conn
    return chosen, problems


def existing_pools(session: Any, names: Sequence[str]) -> dict[str, tuple[int, bool]]:
    """Return ``name -> (slots, include_deferred)`` for the named pools that exist."""
    from airflow.models.pool import Pool
    from sqlalchemy import select

    rows = session.scalars(select(Pool).where(Pool.pool.in_(list(names))))
    return {str(row.pool): (int(row.slots), bool(row.include_deferred)) for row in rows}


def apply_changes(session: Any, changes: Sequence[PoolChange]) -> None:
    """Create or resize the pools that need it, with Airflow's pool API."""
    from airflow.models.pool import Pool

    for change in changes:
        if change.writes:
            pool = change.pool
            Pool.create_or_update_pool(pool.name, pool.slots, pool.description, True, session=session)


def sync_pools(*, dry_run: bool, conn_ids: Sequence[str] | None, out: TextIO, err: TextIO) -> int:
    """Run ``pools sync``; return the exit code."""
    from airflow.utils.session import create_session
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with create_session() as session:
            env_found, problems = env_connections()
            known = {**db_connections(session), **env_found}
            chosen, selection_problems = select_connections(known, conn_ids)
            problems += selection_problems
            pools, invalid = desired_pools(chosen, lambda cid: known.get(cid) or _from_secrets(cid))
            problems += invalid
            changes = plan_changes(pools, existing_pools(session, [p.name for p in pools]))
            if not dry_run:
                apply_changes(session, changes)
    except (SQLAlchemyError, RuntimeError) as error:
        print(
            f"error: cannot use the Airflow metadata database ({type(error).__name__}: {error}); "
            "run this where 'airflow pools set' works, after 'airflow db migrate'.",
            file=err,
        )
        return EXIT_DB_ERROR
    for change in changes:
        print(change.line(), file=out)
    for problem in sorted(problems, key=lambda p: p.conn_id):
        print(problem.line(), file=err)
    _print_hints(pools, dry_run=dry_run, found=bool(chosen or conn_ids), err=err)
    return EXIT_BAD_CONNECTION if problems else EXIT_OK


def _print_hints(pools: Sequence[DesiredPool], *, dry_run: bool, found: bool, err: TextIO) -> None:
    if not found:
        print("no Celigo connection found (metadata DB and AIRFLOW_CONN_* variables)", file=err)
    if dry_run:
        print("dry run: no pool was changed", file=err)
    if pools:
        print(f"# [{CONFIG_SECTION}] settings that let celigo_pool_policy use these pools:", file=err)
        for key, value in policy_settings(list(pools)).items():
            print(f"# AIRFLOW__{CONFIG_SECTION.upper()}__{key.upper()}={value}", file=err)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Entry point of the ``airflow-celigo`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.group == "pools" and args.action == "sync":
        return sync_pools(dry_run=args.dry_run, conn_ids=args.conn_ids, out=out or sys.stdout, err=err or sys.stderr)
    return 2  # pragma: no cover - argparse rejects anything else


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
