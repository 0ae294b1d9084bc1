"""Event-driven and asset-scheduled DAGs in a real Airflow deployment (scheduler, triggerer, dag-processor).

One deployment (``deployment.AirflowDeployment``: LocalExecutor on SQLite, all on 127.0.0.1) and one emulator
(in this process) serve ``dags/events_dags.py``:

1. **watcher**: two runs of the orders flow started on the emulator with a plain ``POST /v1/flows/{id}/run``
   (outside Airflow, as its schedule would) give exactly two runs of ``celigo_watch_orders``, each carrying its
   run's job ids. The triggerer is killed (SIGKILL of its process group) after the first and the second run
   ends while it is down; once restarted it reports that run once (its cursor is in the asset state store) and
   the first never again.
2. **asset schedule**: each successful run of ``celigo_run_customers`` (a ``CeligoRunFlowOperator`` that
   declares its flow asset) gives exactly one run of ``celigo_after_customers``, whose asset event carries the
   run's job ids and counts.
3. **shared listing**: 50 watchers on one connection in the triggerer (polling every second) cost one
   ``GET /v1/jobs`` per round at the emulator, each listing all 50 flows.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from figures import record

from airflow_provider_celigo.testing import connection_json
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

try:
    from .deployment import AirflowDeployment
except ImportError:  # tests/e2e is not a package: pytest put its folder on sys.path
    from deployment import AirflowDeployment  # type: ignore[no-redef]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

DAG_FILE = Path(__file__).parent / "dags" / "events_dags.py"
ORDERS = DEMO_IDS["flow_orders"]
WATCH_DAG, RUN_DAG, AFTER_DAG = "celigo_watch_orders", "celigo_run_customers", "celigo_after_customers"
MANY_DAG = "celigo_watch_many"
WATCHERS = 50  # the orders watcher and the 49 of celigo_watch_many, all polling every second
LISTING_WINDOW = 10.0
MANY_FLOWS = [f"6653f{n:019x}" for n in range(49)]  # as in dags/events_dags.py
QUIET_SECONDS = 8.0  # several watcher polls (1 s) and scheduler loops after the last expected DAG run


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(host="127.0.0.1", clock_speed=10.0) as server:
        server.admin.seed("demo")
        yield server


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory, emulator: EmulatorServer) -> Iterator[AirflowDeployment]:
    dags = tmp_path_factory.mktemp("events_dags")
    shutil.copy(DAG_FILE, dags / DAG_FILE.name)
    run_root = os.environ.get("CELIGO_E2E_RUN_ROOT") or tmp_path_factory.mktemp("events_deployment")
    env = {
        "AIRFLOW_CONN_CELIGO_DEFAULT": connection_json(emulator),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CELIGO__DEFAULT_POLL_INTERVAL": "1",
    }
    with AirflowDeployment(dags, env=env, run_root=run_root, stop_grace=5) as deployment:
        for dag_id in (WATCH_DAG, RUN_DAG, AFTER_DAG, MANY_DAG):
            deployment.wait_for_dag(dag_id, timeout=120)
        yield deployment


def until(predicate: Any, timeout: float, what: str, airflow: AirflowDeployment) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        airflow.check_alive()
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}\n{airflow.daemon_log_tail('triggerer')}")


def dag_runs(airflow: AirflowDeployment, dag_id: str) -> list[dict[str, Any]]:
    return airflow.query("SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id", (dag_id,))


def finished_runs(airflow: AirflowDeployment, dag_id: str) -> list[dict[str, Any]]:
    return [run for run in dag_runs(airflow, dag_id) if run["state"] in ("success", "failed")]


def returned(airflow: AirflowDeployment, dag_id: str, run_id: str, task_id: str) -> Any:
    rows = airflow.query(
        "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? AND key = 'return_value'",
        (dag_id, run_id, task_id),
    )
    return json.loads(rows[0]["value"]) if rows else None


def start_outside_airflow(emulator: EmulatorServer) -> str:
    answer = requests.post(
        f"{emulator.base_url}/flows/{ORDERS}/run", headers={"Authorization": f"Bearer {emulator.token}"}, timeout=10
    )
    answer.raise_for_status()
    return str(answer.json()["_jobId"])


def job_status(emulator: EmulatorServer, job_id: str) -> str | None:
    return next((job["status"] for job in emulator.admin.jobs() if job["_id"] == job_id), None)


def watcher_listed(emulator: EmulatorServer) -> int:
    return sum(
        1
        for entry in emulator.admin.requests_log()
        if entry["method"] == "GET" and entry["path"] == "/v1/jobs" and ORDERS in entry.get("query", "")
    )


def test_watcher_runs_once_per_run_across_a_triggerer_kill(
    airflow: AirflowDeployment, emulator: EmulatorServer
) -> None:
    until(lambda: watcher_listed(emulator) >= 2, 120, "the watcher's first listings", airflow)

    first = start_outside_airflow(emulator)
    until(lambda: job_status(emulator, first) == "completed", 60, "run 1 to complete", airflow)
    until(lambda: len(finished_runs(airflow, WATCH_DAG)) == 1, 120, "the watching DAG's run for run 1", airflow)

    airflow.stop_daemon("triggerer", grace=0)  # SIGTERM and SIGKILL at once: the whole group dies
    second = start_outside_airflow(emulator)
    until(lambda: job_status(emulator, second) == "completed", 60, "run 2 to complete", airflow)
    listed_while_down = watcher_listed(emulator)
    airflow.start_daemon("triggerer")
    until(lambda: len(finished_runs(airflow, WATCH_DAG)) >= 2, 180, "the watching DAG's run for run 2", airflow)
    time.sleep(QUIET_SECONDS)

    runs = dag_runs(airflow, WATCH_DAG)
    payloads = [returned(airflow, WATCH_DAG, run["run_id"], "triggering_extras") for run in runs]
    record(
        "deployment_runs",
        f"2 runs started on the emulator outside Airflow -> {len(runs)} runs of the watching DAG "
        f"({[run['state'] for run in runs]})",
    )
    record(
        "deployment_restart",
        f"triggerer SIGKILLed between the runs, run 2 ended while it was down -> run 2 reported "
        f"{sum(p[0]['payload']['job_ids'] == [second] for p in payloads if p)} time(s), run 1 "
        f"{sum(p[0]['payload']['job_ids'] == [first] for p in payloads if p)} time(s)",
    )
    assert [run["state"] for run in runs] == ["success", "success"]
    assert [[event["payload"]["job_ids"] for event in payload] for payload in payloads] == [[[first]], [[second]]]
    assert all(payload[0]["payload"]["status"] == "completed" for payload in payloads)
    assert watcher_listed(emulator) > listed_while_down  # the restarted triggerer listed again
    assert emulator.token not in airflow.logs_text()


def test_asset_scheduled_dag_runs_once_per_successful_run_flow_task(
    airflow: AirflowDeployment, emulator: EmulatorServer
) -> None:
    summaries = []
    for number in (1, 2):
        run_id = f"customers_{number}"
        airflow.trigger(RUN_DAG, run_id)
        assert airflow.wait_for_run(RUN_DAG, run_id, timeout=180) == "success"
        summaries.append(returned(airflow, RUN_DAG, run_id, "run_customers"))
        until(lambda n=number: len(finished_runs(airflow, AFTER_DAG)) == n, 120, f"downstream run {number}", airflow)
    time.sleep(QUIET_SECONDS)
    runs = dag_runs(airflow, AFTER_DAG)
    extras = [returned(airflow, AFTER_DAG, run["run_id"], "triggering_extras") for run in runs]
    record(
        "deployment_asset_schedule",
        f"2 successful run-flow tasks -> {len(runs)} runs of the DAG scheduled on celigo_flow_asset(...)",
    )
    assert [run["state"] for run in runs] == ["success", "success"]
    assert [[event["job_ids"] for event in extra] for extra in extras] == [
        [summary.get("job_ids", [summary["job_id"]])] for summary in summaries
    ]
    assert [extra[0]["num_success"] for extra in extras] == [summary["num_success"] for summary in summaries]


def test_fifty_watchers_cost_one_listing_per_round(airflow: AirflowDeployment, emulator: EmulatorServer) -> None:
    flows = [ORDERS, *MANY_FLOWS]

    def listings() -> list[dict[str, Any]]:
        return [e for e in emulator.admin.requests_log() if e["method"] == "GET" and e["path"] == "/v1/jobs"]

    def covers_all(entry: dict[str, Any]) -> bool:
        return all(flow in entry.get("query", "") for flow in flows)

    until(lambda: any(covers_all(entry) for entry in listings()), 120, "a listing of all 50 watched flows", airflow)
    before = len(listings())
    time.sleep(LISTING_WINDOW)
    window = listings()[before:]
    per_second = len(window) / LISTING_WINDOW
    record(
        "deployment_listing",
        f"{WATCHERS} watchers on one connection in a real triggerer, 1 s polls: {len(window)} GET /v1/jobs in "
        f"{LISTING_WINDOW:.0f} s ({per_second:.1f} per 1 s round), "
        f"{sum(map(covers_all, window))} of them listing all 50 flows",
    )
    assert window and all(covers_all(entry) for entry in window)
    assert len(window) <= LISTING_WINDOW + 2  # one listing per 1 s round, not one per watcher
