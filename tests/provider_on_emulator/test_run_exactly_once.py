"""A run request whose answer is lost after integrator.io started the run never starts a second run."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from airflow_provider_celigo.hooks.celigo import CeligoHook
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
