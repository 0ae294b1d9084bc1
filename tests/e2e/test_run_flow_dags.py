"""``airflow dags test`` of the run-flow DAGs (tests/e2e/dags/run_flows_dag.py) against the emulator.

The emulator runs in this pytest process (a thread), the DAG run in an ``airflow dags test`` subprocess
that reaches it through ``AIRFLOW_CONN_CELIGO_DEFAULT``. Assertions are made on task instance states,
XComs, task logs and the emulator's own record of runs and jobs, not only on the exit code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from airflow_compat import AIRFLOW_VERSION

from airflow_provider_celigo.testing.dags import AirflowHome, DagTestResult
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

if TYPE_CHECKING:
    from airflow_provider_celigo.testing.emulator.server import EmulatorServer

DAG_FILE = Path(__file__).parent / "dags" / "run_flows_dag.py"
RUN_TIMEOUT = 90.0

pytestmark = pytest.mark.e2e


def assert_token_absent(home: AirflowHome, emulator: EmulatorServer) -> None:
    text = home.all_logs_text()
    assert "Celigo job" in text  # the scan covers real task output
    if AIRFLOW_VERSION < (3, 1):
        # Airflow 3.0's in-process supervisor (``airflow dags test`` only) logs every request it relays at debug,
        # the provider's MaskSecret(value=<token>) included; nothing else may show the token.
        text = "\n".join(line for line in text.splitlines() if "msg=MaskSecret(value=" not in line)
    assert emulator.token not in text


def job_of(emulator: EmulatorServer, job_id: str) -> dict:
    return next(job for job in emulator.admin.jobs() if job["_id"] == job_id)


def test_run_flows_dag(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    # Make the deferrable run last long enough (about 2 s real time) to really defer.
    emulator.admin.set_scenario(DEMO_IDS["flow_customers"], import_seconds=40)

    result = celigo_home.dags_test("celigo_run_flows", DAG_FILE, timeout=RUN_TIMEOUT)
    info = result.describe()

    assert not result.timed_out, info
    assert result.returncode != 0, info  # the failing flow fails the DAG run
    assert result.run_state == "failed", info
    assert result.states == {
        "run_orders": "success",
        "run_customers_deferred": "success",
        "start_inventory": "success",
        "wait_inventory_deferred": "success",
        "wait_inventory": "success",
        "run_refunds": "failed",
    }, info

    # Exactly one run per flow-running task.
    assert emulator.admin.runs() == {
        DEMO_IDS["flow_orders"]: 1,
        DEMO_IDS["flow_customers"]: 1,
        DEMO_IDS["flow_inventory"]: 1,
        DEMO_IDS["flow_refunds"]: 1,
    }

    orders = result.xcom("run_orders")
    assert orders["status"] == "completed" and orders["num_success"] == 240, info  # 120 exported + 120 imported
    assert result.xcom("run_orders", "celigo_job_id") == orders["job_id"]
    assert result.xcom("run_orders", "celigo_job_url") == (
        f"https://integrator.io/integrations/{DEMO_IDS['integration_shop']}/flowBuilder/{DEMO_IDS['flow_orders']}"
    )
    assert result.xcom("run_orders", "_link_CeligoJobLink") == result.xcom("run_orders", "celigo_job_url")
    assert f"Celigo job {orders['job_id']}: completed, 240 ok / 0 errors / 0 ignored" in result.log("run_orders")

    customers_log = result.log("run_customers_deferred")
    assert "[DAG TEST] running trigger in line" in customers_log, info
    assert result.xcom("run_customers_deferred")["status"] == "completed"

    started = result.xcom("start_inventory")
    assert started["outcome"] == "active", info
    inventory_job = result.xcom("start_inventory", "celigo_job_id")
    assert started["job_id"] == inventory_job
    for sensor in ("wait_inventory_deferred", "wait_inventory"):
        assert result.xcom(sensor)["job_id"] == inventory_job
        assert result.xcom(sensor)["status"] == "completed"
    assert "[DAG TEST] running trigger in line" in result.log("wait_inventory_deferred"), info
    assert job_of(emulator, inventory_job)["status"] == "completed"

    refunds_job = result.xcom("run_refunds", "celigo_job_id")
    assert refunds_job and job_of(emulator, refunds_job)["status"] == "failed"
    refunds_log = result.log("run_refunds")
    assert "NetSuite login failed" in refunds_log, info
    assert "CeligoJobError" in refunds_log

    assert_token_absent(celigo_home, emulator)


def test_retry_reattaches_instead_of_running_twice(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result: DagTestResult = celigo_home.dags_test("celigo_run_flow_retry", DAG_FILE, timeout=RUN_TIMEOUT)
    info = result.describe()

    assert not result.timed_out and result.returncode == 0, info
    task = result.task("run_inventory")
    assert task.state == "success" and task.try_number == 2, info
    assert emulator.admin.runs() == {DEMO_IDS["flow_inventory"]: 1}
    assert "simulated worker loss" in task.log
    assert "Try 2: reattaching to Celigo job" in task.log
    if AIRFLOW_VERSION >= (3, 3):
        assert "No task state store" not in task.log  # the job id came from the task state store, not a search
    else:  # the task state store came with 3.3: the job was found through the API
        assert "No task state store" in task.log
    job_id = task.xcoms["celigo_job_id"]
    assert task.xcoms["return_value"]["job_id"] == job_id
    assert job_of(emulator, job_id)["status"] == "completed"
    assert_token_absent(celigo_home, emulator)


def test_deadline_cancels_the_job(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result = celigo_home.dags_test("celigo_run_flow_deadline", DAG_FILE, timeout=RUN_TIMEOUT)
    info = result.describe()

    assert not result.timed_out and result.returncode != 0, info
    assert result.states == {"run_inventory_with_deadline": "failed"}, info
    job_id = result.xcom("run_inventory_with_deadline", "celigo_job_id")
    assert job_of(emulator, job_id)["status"] == "canceled"
    assert "deadline reached, job canceled" in result.log("run_inventory_with_deadline"), info
    assert emulator.admin.runs() == {DEMO_IDS["flow_inventory"]: 1}
    assert_token_absent(celigo_home, emulator)


SLEEPY_DAG = """
import time
from datetime import datetime
from airflow.sdk import DAG, task

with DAG("harness_sleepy", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    @task
    def sleep_long() -> None:
        time.sleep(300)

    sleep_long()
"""


def group_alive(pgid: int) -> bool:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            except OSError:
                continue
            if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
                return True
    return False


def test_harness_kills_a_run_that_overruns(airflow_home: AirflowHome, tmp_path: Path) -> None:
    dag_file = tmp_path / "harness_sleepy.py"
    dag_file.write_text(SLEEPY_DAG)
    result = airflow_home.dags_test("harness_sleepy", dag_file, timeout=20)
    assert result.timed_out and result.returncode != 0, result.describe()
    assert result.seconds < 40
    assert not group_alive(result.pid)
