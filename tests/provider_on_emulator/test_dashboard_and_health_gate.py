"""Dashboard reads and the open-errors health gate, against the emulator over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from airflow_provider_celigo.exceptions import CeligoNotFoundError
from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.sensors.errors import CeligoOpenErrorsExceeded, CeligoOpenErrorsSensor
from airflow_provider_celigo.testing import running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

SHOP = DEMO_IDS["integration_shop"]


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with running_emulator(seed="demo", clock_speed=50.0) as server:
        extra = {"base_url": server.base_url, "max_retries": 1, "max_retry_wait": 0.2}
        monkeypatch.setenv(
            "AIRFLOW_CONN_CELIGO_DEFAULT", json.dumps({"conn_type": "celigo", "password": server.token, "extra": extra})
        )
        yield server


def run_and_wait(hook: CeligoHook, flow_key: str) -> str:
    job_id = hook.run_flow(DEMO_IDS[flow_key])
    hook.wait_for_job(job_id, poll_interval=0.2, timeout=60)
    return job_id


def test_rollups_latest_jobs_and_the_gate(emulator: EmulatorServer) -> None:
    hook = CeligoHook()
    healthy = CeligoOpenErrorsSensor(task_id="gate", integration_id=SHOP, poke_interval=1)
    assert healthy.poke({}).is_done  # nothing ran yet: no open errors
    assert hook.get_current_jobs(integration_ids=[SHOP]) == []

    invoices = run_and_wait(hook, "flow_invoices")  # completes with 3 record errors
    run_and_wait(hook, "flow_refunds")  # fails

    steps = hook.get_flow_open_errors(DEMO_IDS["flow_invoices"])
    assert sum(step["numError"] for step in steps) == 3
    rollup = {row["_flowId"]: row["numError"] for row in hook.get_integration_open_errors(SHOP)}
    assert rollup[DEMO_IDS["flow_invoices"]] == 3
    assert set(rollup) <= {DEMO_IDS[key] for key in ("flow_invoices", "flow_refunds")}
    latest = hook.get_latest_integration_jobs(SHOP)
    assert invoices in {job["_id"] for job in latest}
    assert {job["_flowId"] for job in latest} == {DEMO_IDS["flow_invoices"], DEMO_IDS["flow_refunds"]}

    total = sum(rollup.values())
    waiting = CeligoOpenErrorsSensor(task_id="gate", integration_id=SHOP, poke_interval=1)
    answer = waiting.poke({})
    assert not answer.is_done
    health = waiting.read_health()
    assert health["open_errors"] == total
    assert health["worst"][0]["open_errors"] == max(rollup.values())
    assert CeligoOpenErrorsSensor(task_id="gate", integration_id=SHOP, max_open_errors=total).poke({}).is_done

    failing = CeligoOpenErrorsSensor(task_id="gate", flow_id=DEMO_IDS["flow_invoices"], on_exceeded="fail")
    with pytest.raises(CeligoOpenErrorsExceeded, match=r"3 open errors, more than the 0 allowed; worst steps: "):
        failing.poke({})


def test_unknown_integration_is_a_clear_not_found(emulator: EmulatorServer) -> None:
    with pytest.raises(CeligoNotFoundError, match="integration 6650a00000000000000000ff does not exist"):
        CeligoHook().get_integration_open_errors("6650a00000000000000000ff")


def test_current_jobs_lists_a_running_run(emulator: EmulatorServer) -> None:
    hook = CeligoHook()
    job_id = hook.run_flow(DEMO_IDS["flow_inventory"])  # a long flow
    current = hook.get_current_jobs(flow_ids=[DEMO_IDS["flow_inventory"]])
    assert [job["_id"] for job in current] == [job_id]
    hook.cancel_job(job_id)


def test_sensor_arguments_are_checked() -> None:
    from airflow_provider_celigo.exceptions import CeligoConfigError

    with pytest.raises(CeligoConfigError, match="exactly one of integration_id and flow_id"):
        CeligoOpenErrorsSensor(task_id="gate")
    with pytest.raises(CeligoConfigError, match="'wait'"):
        CeligoOpenErrorsSensor(task_id="gate", flow_id=DEMO_IDS["flow_orders"], on_exceeded="skip")


def test_run_stats_per_flow(emulator: EmulatorServer) -> None:
    from datetime import datetime, timezone

    hook = CeligoHook()
    before = datetime(2000, 1, 1, tzinfo=timezone.utc)
    run_and_wait(hook, "flow_invoices")
    run_and_wait(hook, "flow_invoices")
    run_and_wait(hook, "flow_orders")
    stats = {entry["_flowId"]: entry for entry in hook.get_run_stats(since=before, integration_ids=[SHOP])}
    invoices = stats[DEMO_IDS["flow_invoices"]]
    jobs = [
        job
        for job in emulator.admin.jobs()
        if job.get("_flowId") == DEMO_IDS["flow_invoices"] and job["type"] == "flow"
    ]
    expected = (2, sum(job["numSuccess"] for job in jobs), sum(job["numError"] for job in jobs))
    assert (invoices["numRuns"], invoices["numSuccess"], invoices["numError"]) == expected == (2, expected[1], 6)
    assert invoices["numOpenError"] == 6 and invoices["lastExecutedAt"]
    assert stats[DEMO_IDS["flow_orders"]]["numRuns"] == 1
    only_orders = hook.get_run_stats(flow_ids=[DEMO_IDS["flow_orders"]], statuses=["failed"])
    assert only_orders == []
