"""``airflow dags test`` of flows with several sources: a run is one flow job per source, waited on, canceled,
reattached to and judged as a whole (tests/e2e/dags/multi_source_dag.py against the emulator)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_celigo.testing.dags import AirflowHome
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

if TYPE_CHECKING:
    from airflow_provider_celigo.testing.emulator.server import EmulatorServer

DAG_FILE = Path(__file__).parent / "dags" / "multi_source_dag.py"
RETRY_DAG_FILE = Path(__file__).parent / "dags" / "run_flows_dag.py"
FLOW = DEMO_IDS["flow_storefront_orders"]
SOURCES = [DEMO_IDS[f"export_storefront_{name}"] for name in ("us", "eu", "b2b")]
RUN_TIMEOUT = 120.0

pytestmark = pytest.mark.e2e


def flow_jobs(emulator: EmulatorServer, flow_id: str = FLOW) -> list[dict[str, Any]]:
    return [job for job in emulator.admin.jobs() if job.get("type") == "flow" and job.get("_flowId") == flow_id]


def check_run(emulator: EmulatorServer, summary: dict[str, Any]) -> None:
    """The summary stands for one run: a job per source, counts summed over them."""
    jobs = {job["_id"]: job for job in flow_jobs(emulator)}
    assert len(summary["job_ids"]) == 3 and summary["job_id"] == summary["job_ids"][0]
    assert [jobs[job_id]["_exportId"] for job_id in summary["job_ids"]] == SOURCES
    assert summary["num_success"] == sum(jobs[job_id]["numSuccess"] for job_id in summary["job_ids"]) > 0
    assert summary["num_error"] == sum(jobs[job_id]["numError"] for job_id in summary["job_ids"])


def test_a_three_source_flow_runs_once_per_task_and_returns_every_job(
    celigo_home: AirflowHome, emulator: EmulatorServer
) -> None:
    result = celigo_home.dags_test("celigo_three_sources", DAG_FILE, timeout=RUN_TIMEOUT)
    info = result.describe()
    assert not result.timed_out and result.returncode == 0, info
    assert result.states == {"run_sync": "success", "run_deferred": "success"}, info
    assert emulator.admin.runs() == {FLOW: 2}, info  # one run per task
    assert len(flow_jobs(emulator)) == 6  # three flow jobs per run, no more
    for task_id in ("run_sync", "run_deferred"):
        summary = result.xcom(task_id)
        check_run(emulator, summary)
        assert result.xcom(task_id, "celigo_job_ids") == summary["job_ids"]
        assert result.xcom(task_id, "celigo_job_id") == summary["job_id"]
        assert summary["status"] == "completed", info
    assert "over 3 flow jobs, one per source" in result.log("run_sync"), info
    assert "[DAG TEST] running trigger in line" in result.log("run_deferred"), info
    assert emulator.token not in celigo_home.all_logs_text()


def test_the_deadline_cancels_every_job_of_the_run(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    # Quick exports, long imports: all three jobs are running when the deadline passes.
    emulator.admin.set_scenario(FLOW, export_seconds=1, import_seconds=2000)
    result = celigo_home.dags_test("celigo_three_sources_deadline", DAG_FILE, timeout=RUN_TIMEOUT)
    info = result.describe()
    assert not result.timed_out and result.states == {"run_with_deadline": "failed"}, info
    jobs = flow_jobs(emulator)
    assert len(jobs) == 3, info
    assert {job["status"] for job in jobs} == {"canceled"}, info
    assert "deadline reached, job canceled" in result.log("run_with_deadline"), info
    assert emulator.admin.runs() == {FLOW: 1}


def test_a_retry_reattaches_to_every_job_of_the_run(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    emulator.admin.set_scenario(FLOW, export_seconds=4, import_seconds=40)
    result = celigo_home.dags_test("celigo_three_sources_retry", RETRY_DAG_FILE, timeout=RUN_TIMEOUT)
    info = result.describe()
    assert not result.timed_out and result.returncode == 0, info
    task = result.task("run_storefronts")
    assert task.state == "success" and task.try_number == 2, info
    assert "simulated worker loss" in task.log and "Try 2: reattaching to Celigo job" in task.log, info
    assert emulator.admin.runs() == {FLOW: 1}, info
    assert len(flow_jobs(emulator)) == 3
    check_run(emulator, task.xcoms["return_value"])


def test_chained_flows_of_an_integration_each_run_once(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result = celigo_home.dags_test("celigo_chained_integration", DAG_FILE, timeout=RUN_TIMEOUT)
    info = result.describe()
    assert not result.timed_out and result.returncode == 0, info
    summaries = result.xcom("run_storefronts_integration")
    flows = [summary["flow_id"] for summary in summaries]
    products, prices = DEMO_IDS["flow_nightly_products"], DEMO_IDS["flow_nightly_prices"]
    assert flows.index(prices) == flows.index(products) + 1, info  # the chained flow right after its predecessor
    for flow_id in (FLOW, products, prices):
        assert flows.count(flow_id) == 1, info
        assert len({job["_id"] for job in flow_jobs(emulator, flow_id)}) == (3 if flow_id == FLOW else 1), info
    assert "Chained flow" in result.log("run_storefronts_integration") and "started by integrator.io" in result.log(
        "run_storefronts_integration"
    ), info
