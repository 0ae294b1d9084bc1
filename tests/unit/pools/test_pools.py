"""Pool naming, the ``pools sync`` plan and command (database parts stubbed), and the opt-in task policy."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from airflow.sdk import BaseOperator
from sqlalchemy.exc import OperationalError

from airflow_provider_celigo.exceptions import CeligoConfigError
from airflow_provider_celigo.pools import (
    DesiredPool,
    PoolChange,
    celigo_pool_policy,
    cli,
    desired_pools,
    plan_changes,
    pool_name_for,
)
from airflow_provider_celigo.pools.planning import policy_settings

Define = Callable[..., str]
TEST_TOKEN = "unit-pools-token-8f4d0b"


@pytest.fixture
def celigo_conn(celigo_conn: Define) -> Define:
    """The shared fixture, with this module's own token (so the leak checks below know what to look for)."""
    return functools.partial(celigo_conn, password=TEST_TOKEN)


class FakeConnection:
    def __init__(self, conn_id: str, conn_type: str = "celigo", password: str = TEST_TOKEN, **extra: Any) -> None:
        self.conn_id, self.conn_type, self.password, self._extra = conn_id, conn_type, password, extra

    @property
    def extra_dejson(self) -> dict[str, Any]:
        return self._extra


def lookup_in(conns: dict[str, FakeConnection]) -> Callable[[str], FakeConnection]:
    def lookup(conn_id: str) -> FakeConnection:
        return conns[conn_id]

    return lookup


# -- naming and planning ------------------------------------------------------------------------------------


def test_pool_name() -> None:
    assert pool_name_for("celigo_default") == "celigo_celigo_default"
    assert pool_name_for("prod") == "celigo_prod"


def test_desired_pools_group_borrowers_with_their_lender() -> None:
    conns = {
        "a": FakeConnection("a", concurrency_level=3),
        "b": FakeConnection("b", borrow_concurrency_from="a"),
        "c": FakeConnection("c", concurrency_level="2"),
        "bad": FakeConnection("bad", concurrency_level=26),
        "chain": FakeConnection("chain", borrow_concurrency_from="b"),
        "notoken": FakeConnection("notoken", password=""),
    }
    pools, problems = desired_pools(conns, lookup_in(conns))
    assert pools == [DesiredPool("celigo_a", 3, "a", ("a", "b")), DesiredPool("celigo_c", 2, "c", ("c",))]
    assert [p.conn_id for p in problems] == ["bad", "chain", "notoken"]
    assert "'concurrency_level' is 26" in problems[0].line() and problems[0].line().startswith("error bad: ")
    assert "a chain" in problems[1].message and "no API token" in problems[2].message
    assert all(TEST_TOKEN not in p.line() for p in problems)
    assert "'a'" in pools[0].description and "shared by 'b'" in pools[0].description
    assert "shared" not in pools[1].description


def test_borrower_alone_creates_its_lenders_pool() -> None:
    lender = FakeConnection("lender", concurrency_level=4)
    pools, problems = desired_pools(
        {"b": FakeConnection("b", borrow_concurrency_from="lender")}, lookup_in({"lender": lender})
    )
    assert problems == [] and pools == [DesiredPool("celigo_lender", 4, "lender", ("b",))]


class UnreadableConnection(FakeConnection):
    @property  # type: ignore[override]
    def password(self) -> str:
        raise RuntimeError(f"cannot decrypt {TEST_TOKEN}")

    @password.setter
    def password(self, value: str) -> None:
        pass


def test_unreadable_connection_is_reported_not_fatal() -> None:
    conns = {"ok": FakeConnection("ok", concurrency_level=1), "locked": UnreadableConnection("locked")}
    pools, problems = desired_pools(conns, lookup_in(conns))
    assert [p.name for p in pools] == ["celigo_ok"]
    assert [p.line() for p in problems] == ["error locked: cannot read this connection (RuntimeError)"]


def test_plan_lines() -> None:
    wanted = [DesiredPool(f"celigo_{n}", 5, n, (n,)) for n in "wxyz"]
    existing = {"celigo_x": (3, True), "celigo_y": (5, True), "celigo_z": (5, False)}
    changes = plan_changes(wanted, existing)
    assert [c.line() for c in changes] == [
        "create celigo_w slots=5 include_deferred=True",
        "resize celigo_x 3 -> 5",
        "ok celigo_y slots=5",
        "update celigo_z slots=5 include_deferred False -> True",
    ]
    assert [c.writes for c in changes] == [True, True, False, True]
    both = PoolChange("resize", wanted[0], old_slots=2, old_include_deferred=False)
    assert both.line() == "resize celigo_w 2 -> 5 include_deferred False -> True"


def test_policy_settings_for_the_pools() -> None:
    pools = [DesiredPool("celigo_a", 3, "a", ("a", "b", "c")), DesiredPool("celigo_d", 1, "d", ("d",))]
    assert policy_settings(pools) == {"synced_pools": "celigo_a,celigo_d", "pool_overrides": "b=a,c=a"}
    assert policy_settings(pools[1:]) == {"synced_pools": "celigo_d"}


# -- the task policy -----------------------------------------------------------------------------------------


class CeligoLikeOperator(BaseOperator):
    def __init__(self, *, celigo_conn_id: str = "celigo_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.celigo_conn_id = celigo_conn_id


def test_policy_assigns_a_synced_pool() -> None:
    task = CeligoLikeOperator(task_id="t", celigo_conn_id="prod")
    assert task.pool == "default_pool"
    assert celigo_pool_policy(task, synced_pools={"celigo_prod"}) == "celigo_prod"
    assert task.pool == "celigo_prod"


def test_policy_leaves_tasks_alone_when_their_pool_is_not_declared() -> None:
    task = CeligoLikeOperator(task_id="t", celigo_conn_id="prod")
    assert celigo_pool_policy(task, synced_pools={"celigo_other"}) is None
    assert celigo_pool_policy(task, synced_pools=set()) is None
    assert task.pool == "default_pool"


def test_policy_wildcard_overrides_and_exclusions() -> None:
    borrower = CeligoLikeOperator(task_id="b", celigo_conn_id="dev")
    assert celigo_pool_policy(borrower, synced_pools={"*"}, overrides={"dev": "prod"}) == "celigo_prod"
    explicit = CeligoLikeOperator(task_id="e", celigo_conn_id="prod", pool="my_pool")
    templated = CeligoLikeOperator(task_id="t", celigo_conn_id="{{ var.value.conn }}")
    plain = BaseOperator(task_id="p")
    for task in (explicit, templated, plain):
        before = task.pool
        assert celigo_pool_policy(task, synced_pools={"*"}) is None
        assert task.pool == before


def test_policy_reads_airflow_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW__CELIGO__SYNCED_POOLS", raising=False)
    monkeypatch.delenv("AIRFLOW__CELIGO__POOL_OVERRIDES", raising=False)
    task = CeligoLikeOperator(task_id="t", celigo_conn_id="dev")
    assert celigo_pool_policy(task) is None and task.pool == "default_pool"  # nothing declared: first run is safe
    monkeypatch.setenv("AIRFLOW__CELIGO__SYNCED_POOLS", "celigo_prod, celigo_x")
    monkeypatch.setenv("AIRFLOW__CELIGO__POOL_OVERRIDES", "dev=prod")
    assert celigo_pool_policy(task) == "celigo_prod" and task.pool == "celigo_prod"
    monkeypatch.setenv("AIRFLOW__CELIGO__POOL_OVERRIDES", "dev")
    with pytest.raises(CeligoConfigError, match="pool_overrides"):
        celigo_pool_policy(CeligoLikeOperator(task_id="u", celigo_conn_id="dev"))


# -- the command (metadata database stubbed; tests/airflow/test_airflow_cli.py uses a real one) -------------


@pytest.fixture
def fake_db(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Stub the metadata DB: DB connections, existing pools, and a record of the writes."""
    state: dict[str, Any] = {"connections": {}, "pools": {}, "writes": []}

    @contextlib.contextmanager
    def create_session() -> Iterator[object]:
        yield object()

    def apply(session: object, changes: list[PoolChange]) -> None:
        state["writes"] += [(c.pool.name, c.pool.slots) for c in changes if c.writes]

    monkeypatch.setattr("airflow.utils.session.create_session", create_session)
    monkeypatch.setattr(cli, "db_connections", lambda session: state["connections"])
    monkeypatch.setattr(
        cli, "existing_pools", lambda session, names: {n: state["pools"][n] for n in names if n in state["pools"]}
    )
    monkeypatch.setattr(cli, "apply_changes", apply)
    for name in list(os.environ):
        if name.startswith("AIRFLOW_CONN_"):
            monkeypatch.delenv(name)
    return state


def run_cli(*argv: str) -> tuple[int, list[str], str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), out, err)
    return code, out.getvalue().splitlines(), err.getvalue()


def test_sync_creates_resizes_and_reports(celigo_conn: Define, fake_db: dict[str, Any]) -> None:
    celigo_conn("prod", concurrency_level=3)
    celigo_conn("dev", borrow_concurrency_from="prod")
    fake_db["connections"] = {"db_one": FakeConnection("db_one", concurrency_level=5)}
    fake_db["pools"] = {"celigo_db_one": (2, True)}
    code, lines, err = run_cli("pools", "sync")
    assert code == 0
    assert lines == ["resize celigo_db_one 2 -> 5", "create celigo_prod slots=3 include_deferred=True"]
    assert fake_db["writes"] == [("celigo_db_one", 5), ("celigo_prod", 3)]
    assert "AIRFLOW__CELIGO__SYNCED_POOLS=celigo_db_one,celigo_prod" in err
    assert "AIRFLOW__CELIGO__POOL_OVERRIDES=dev=prod" in err


def test_dry_run_writes_nothing(celigo_conn: Define, fake_db: dict[str, Any]) -> None:
    celigo_conn("prod", concurrency_level=3)
    code, lines, err = run_cli("pools", "sync", "--dry-run")
    assert (code, lines, fake_db["writes"]) == (0, ["create celigo_prod slots=3 include_deferred=True"], [])
    assert "dry run" in err


def test_bad_connections_are_reported_and_skipped(
    celigo_conn: Define, fake_db: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    celigo_conn("good", concurrency_level=2)
    celigo_conn("bad", concurrency_level="abc")
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", '{"conn_type": "celigo", "password": "' + TEST_TOKEN)  # not JSON
    fake_db["pools"] = {"celigo_good": (2, True)}
    code, lines, err = run_cli("pools", "sync")
    assert code == 1 and lines == ["ok celigo_good slots=2"] and fake_db["writes"] == []
    assert "error bad: Celigo connection extra 'concurrency_level' is 'abc'" in err
    assert "error broken: AIRFLOW_CONN_BROKEN is neither a connection URI nor JSON" in err
    assert TEST_TOKEN not in err + "".join(lines)


def test_conn_id_filter(celigo_conn: Define, fake_db: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    celigo_conn("one", concurrency_level=1)
    celigo_conn("two", concurrency_level=2)
    monkeypatch.setenv("AIRFLOW_CONN_WEB", json.dumps({"conn_type": "http", "host": "example.com"}))
    code, lines, err = run_cli("pools", "sync", "--conn-id", "two", "web", "--conn-id", "ghost")
    assert code == 1 and lines == ["create celigo_two slots=2 include_deferred=True"]
    assert "error web: has type 'http', not 'celigo'" in err and "error ghost: no connection with this id" in err


def test_no_connections(fake_db: dict[str, Any]) -> None:
    assert run_cli("pools", "sync")[0:2] == (0, [])


def test_database_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    @contextlib.contextmanager
    def broken() -> Iterator[object]:
        raise OperationalError("SELECT 1", {}, Exception("no such table: connection"))
        yield object()  # pragma: no cover

    monkeypatch.setattr("airflow.utils.session.create_session", broken)
    code, lines, err = run_cli("pools", "sync")
    assert code == 3 and lines == [] and "airflow db migrate" in err


def test_usage_errors_exit_2() -> None:
    with pytest.raises(SystemExit) as caught, contextlib.redirect_stderr(io.StringIO()):
        cli.main(["pools", "resize"])
    assert caught.value.code == 2
    assert cli.build_parser().parse_args(["pools", "sync", "--conn-id", "a", "b", "--conn-id", "c"]).conn_ids == [
        "a",
        "b",
        "c",
    ]


class _Plain(BaseOperator):
    def __init__(self, *, value: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.value = value


def test_policy_assigns_mapped_celigo_tasks() -> None:
    from airflow.sdk import DAG

    from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

    with DAG("policy_mapped", schedule=None):
        default_conn = CeligoRunFlowOperator.partial(task_id="a").expand(flow_id=["x", "y"])
        other_conn = CeligoRunFlowOperator.partial(task_id="b", celigo_conn_id="celigo_eu").expand(flow_id=["x"])
        conn_mapped = CeligoRunFlowOperator.partial(task_id="c").expand(
            flow_id=["x"], celigo_conn_id=["celigo_a", "celigo_b"]
        )
        not_celigo = _Plain.partial(task_id="d").expand(value=[1, 2])
    assert celigo_pool_policy(default_conn, synced_pools={"*"}, overrides={}) == "celigo_celigo_default"
    assert default_conn.pool == "celigo_celigo_default"
    assert celigo_pool_policy(other_conn, synced_pools={"*"}, overrides={}) == "celigo_celigo_eu"
    assert celigo_pool_policy(conn_mapped, synced_pools={"*"}, overrides={}) is None
    assert celigo_pool_policy(not_celigo, synced_pools={"*"}, overrides={}) is None
    assert not_celigo.pool == "default_pool"
