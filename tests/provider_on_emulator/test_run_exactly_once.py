"""A run request whose answer is lost after integrator.io started the run never starts a second run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_celigo.exceptions import CeligoApiError
from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.jobs.reattach import RUN_STATE_KEY
from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
from airflow_provider_celigo.testing import running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

FLOW = DEMO_IDS["flow_inventory"]  # a long flow: still running when the hook looks for it
RUN_PATH = r"^/v1/flows/[0-9a-f]{24}/run$"


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with running_emulator(seed="demo", clock_speed=1.0) as server:
        extra = {"base_url": server.base_url, "max_retries": 3, "max_retry_wait": 0.2}
        monkeypatch.setenv(
            "AIRFLOW_CONN_CELIGO_DEFAULT", json.dumps({"conn_type": "celigo", "password": server.token, "extra": extra})
        )
        yield server


@pytest.mark.parametrize("fault", ["share_500_after", "share_drop_after"])
def test_lost_answer_adopts_the_started_run(emulator: EmulatorServer, fault: str) -> None:
    emulator.admin.set_faults({"routes": [{"method": "POST", "path": RUN_PATH, fault: 1.0, "limit": 1}]})
    job_id = CeligoHook().run_flow(FLOW)
    assert emulator.admin.runs() == {FLOW: 1}
    [job] = [job for job in emulator.admin.jobs() if job["_flowId"] == FLOW]
    assert job["_id"] == job_id
    assert sum(emulator.admin.faults()["counters"].values()) == 1


def test_refusal_before_the_handler_is_retried_and_runs_once(emulator: EmulatorServer) -> None:
    emulator.admin.set_faults({"routes": [{"method": "POST", "path": RUN_PATH, "share_500": 1.0, "limit": 2}]})
    job_id = CeligoHook().run_flow(FLOW)
    assert emulator.admin.runs() == {FLOW: 1}
    assert [job["_id"] for job in emulator.admin.jobs()] == [job_id]


# -- quick flows, Airflow's default retry delay, and other DAG runs of the same flow ---------------------------

QUICK = DEMO_IDS["flow_orders"]
DEFAULT_RETRY_DELAY = 300.0  # Airflow's default retry_delay, passed on the emulator's clock


class StateStore:
    """The task state store's get/set contract, kept across tries like Airflow 3.3's."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.values[key] = json.loads(json.dumps(value))


class TaskInstance:
    def __init__(self, try_number: int) -> None:
        self.try_number = try_number
        self.start_date = datetime.now(timezone.utc)
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


class DagRun:
    def __init__(self, start_date: datetime) -> None:
        self.start_date = start_date


def make_quick(emulator: EmulatorServer, flow_id: str = QUICK) -> None:
    """A sub-second flow: it ends long before any retry (at clock speed 1)."""
    emulator.admin.set_scenario(flow_id, export_seconds=0.1, import_seconds=0.1, records=3)


def context(try_number: int, store: StateStore | None, dag_run_start: datetime) -> dict[str, Any]:
    ctx: dict[str, Any] = {"ti": TaskInstance(try_number), "dag_run": DagRun(dag_run_start)}
    if store is not None:
        ctx["task_state_store"] = store
    return ctx


@pytest.mark.parametrize("fault", ["share_500_after", "share_drop_after"])
def test_lost_answer_of_a_quick_flow_that_ended_adopts_it(emulator: EmulatorServer, fault: str) -> None:
    make_quick(emulator)
    # The run is handled, its answer lost; the flow ends while the hook waits to retry (2 s on this clock).
    emulator.admin.set_faults({"routes": [{"method": "POST", "path": RUN_PATH, fault: 1.0, "limit": 1}]})
    hook = CeligoHook()
    original = hook._log_retry

    def wait_for_the_end(state: Any) -> None:
        original(state)
        emulator.emulator.clock.advance(5.0)

    hook._log_retry = wait_for_the_end  # type: ignore[method-assign]
    job_id = hook.run_flow(QUICK)
    assert emulator.admin.runs() == {QUICK: 1}
    [job] = [job for job in emulator.admin.jobs() if job["_flowId"] == QUICK]
    assert job["_id"] == job_id and job["status"] == "completed"


@pytest.mark.parametrize("with_store", [True, False])
def test_retry_after_a_worker_death_adopts_the_run_that_already_ended(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, with_store: bool
) -> None:
    make_quick(emulator)
    dag_run_start = datetime.now(timezone.utc) - timedelta(seconds=1)
    store = StateStore() if with_store else None
    # Try 1 writes its record, sends POST /run, and dies before it hears (or saves) the job id.
    emulator.admin.set_faults({"routes": [{"method": "POST", "path": RUN_PATH, "share_drop_after": 1.0, "limit": 1}]})
    monkeypatch.setenv("AIRFLOW_CONN_CELIGO_DEFAULT", _connection(emulator, max_retries=0))
    with pytest.raises(CeligoApiError):
        CeligoRunFlowOperator(task_id="run", flow_id=QUICK, poll_interval=0.1).execute(
            context(1, store, dag_run_start)  # type: ignore[arg-type]
        )
    if store is not None:
        assert "job_id" not in store.values[RUN_STATE_KEY]
    emulator.emulator.clock.advance(DEFAULT_RETRY_DELAY)  # the flow ended long before try 2 starts
    summary = CeligoRunFlowOperator(task_id="run", flow_id=QUICK, poll_interval=0.1).execute(
        context(2, store, dag_run_start)  # type: ignore[arg-type]
    )
    assert emulator.admin.runs() == {QUICK: 1}
    assert summary["status"] == "completed" and summary["num_success"] == 6  # 3 records exported + 3 imported


def test_dropped_request_never_adopts_another_dag_runs_job(emulator: EmulatorServer) -> None:
    hook = CeligoHook()
    other = hook.run_flow(FLOW)  # run A of the long flow: still running
    # Run B's request is dropped before integrator.io handles it (the emulator clock moves on meanwhile).
    emulator.emulator.clock.advance(2.0)
    emulator.admin.set_faults({"routes": [{"method": "POST", "path": RUN_PATH, "share_drop": 1.0, "limit": 1}]})
    own = hook.run_flow(FLOW)
    assert own != other
    assert emulator.admin.runs() == {FLOW: 2}


def _connection(emulator: EmulatorServer, **extra: Any) -> str:
    extra = {"base_url": emulator.base_url, "max_retry_wait": 0.2, **extra}
    return json.dumps({"conn_type": "celigo", "password": emulator.token, "extra": extra})
