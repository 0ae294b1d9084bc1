"""The sensors' "Celigo job" link XComs (celigo_job_id, celigo_job_url) and the elapsed time of their log lines."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sensor_flows import one_source_flows  # noqa: F401  (autouse fixture)

from airflow_provider_celigo.jobs.status import summarize
from airflow_provider_celigo.links import JOB_ID_XCOM_KEY, JOB_URL_XCOM_KEY
from airflow_provider_celigo.sensors.jobs import CeligoFlowRunSensor, CeligoJobSensor

API = "https://api.integrator.io/v1"
UI = "https://integrator.io"
FLOW = "6650f0000000000000000001"
INTEGRATION = "6650a0000000000000000001"
JOB = "6650aa000000000000000001"
FLOW_PAGE = f"{UI}/integrations/{INTEGRATION}/flowBuilder/{FLOW}"


class RecordingTI:
    """A task instance that records every XCom push, and answers the first reschedule date it is given."""

    def __init__(self, start_date: datetime | None = None, first_reschedule: datetime | None = None) -> None:
        self.try_number = 1
        self.start_date = start_date or datetime.now(timezone.utc)
        self.first_reschedule = first_reschedule
        self.pushes: list[tuple[str, Any]] = []
        self.reschedule_lookups = 0

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushes.append((key, value))

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        self.reschedule_lookups += 1
        return self.first_reschedule

    def pushed(self) -> dict[str, Any]:
        return dict(self.pushes)


def job(status: str, **fields: Any) -> dict[str, Any]:
    return {"_id": JOB, "type": "flow", "_flowId": FLOW, "_integrationId": INTEGRATION, "status": status, **fields}


@pytest.fixture
def conn(celigo_conn: Any) -> str:
    return celigo_conn("celigo_default", max_retries=0)


def job_sensor(**kwargs: Any) -> CeligoJobSensor:
    kwargs.setdefault("poke_interval", 0.01)
    kwargs.setdefault("deferrable", False)
    return CeligoJobSensor(task_id="wait", job_id=JOB, **kwargs)


def flow_sensor(**kwargs: Any) -> CeligoFlowRunSensor:
    kwargs.setdefault("poke_interval", 0.01)
    kwargs.setdefault("deferrable", False)
    return CeligoFlowRunSensor(task_id="wait_flow", flow_id=FLOW, created_after="2026-11-23T10:00:00Z", **kwargs)


# -- celigo_job_id / celigo_job_url --------------------------------------------------------------------------


def test_job_sensor_pushes_the_link_of_the_job(conn: str, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("running"))
    ti = RecordingTI()
    job_sensor().poke({"ti": ti})
    assert ti.pushed() == {JOB_ID_XCOM_KEY: JOB, JOB_URL_XCOM_KEY: FLOW_PAGE}


def test_job_sensor_pushes_once_while_poking(conn: str, requests_mock: Any) -> None:
    reads = requests_mock.get(
        f"{API}/jobs/{JOB}", [{"json": job("queued")}, {"json": job("running")}, {"json": job("completed")}]
    )
    ti = RecordingTI()
    assert job_sensor(mode="poke").execute({"ti": ti})["status"] == "completed"
    assert reads.call_count == 3
    assert ti.pushes == [(JOB_ID_XCOM_KEY, JOB), (JOB_URL_XCOM_KEY, FLOW_PAGE)]


def test_standalone_flow_links_to_the_none_integration(conn: str, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json={**job("running"), "_integrationId": None})
    ti = RecordingTI()
    job_sensor().poke({"ti": ti})
    assert ti.pushed()[JOB_URL_XCOM_KEY] == f"{UI}/integrations/none/flowBuilder/{FLOW}"


def test_eu_connection_links_to_the_eu_ui(celigo_conn: Any, requests_mock: Any) -> None:
    celigo_conn("celigo_default", region="eu", max_retries=0)
    requests_mock.get(f"https://api.eu.integrator.io/v1/jobs/{JOB}", json=job("running"))
    ti = RecordingTI()
    job_sensor().poke({"ti": ti})
    assert ti.pushed()[JOB_URL_XCOM_KEY].startswith("https://eu.integrator.io/integrations/")


def test_flow_sensor_links_the_dashboard_until_a_run_appears(conn: str, requests_mock: Any) -> None:
    requests_mock.get(
        f"{API}/jobs", [{"json": []}, {"json": []}, {"json": [job("running")]}, {"json": [job("completed")]}]
    )
    ti = RecordingTI()
    sensor = flow_sensor()
    assert not sensor.poke({"ti": ti}).is_done
    assert ti.pushes == [(JOB_URL_XCOM_KEY, f"{UI}/dashboard")]
    assert not sensor.poke({"ti": ti}).is_done
    assert len(ti.pushes) == 1  # not again while nothing changed
    assert not sensor.poke({"ti": ti}).is_done
    assert ti.pushes[1:] == [(JOB_ID_XCOM_KEY, JOB), (JOB_URL_XCOM_KEY, FLOW_PAGE)]
    assert sensor.poke({"ti": ti}).is_done
    assert len(ti.pushes) == 3


def test_deferred_flow_sensor_pushes_the_link_when_the_trigger_found_the_run(conn: str) -> None:
    ti = RecordingTI()
    event = {"status": "success", "job_id": JOB, "job_status": "completed", "summary": summarize(job("completed"))}
    assert flow_sensor(deferrable=True).execute_complete({"ti": ti}, event)["job_id"] == JOB
    assert ti.pushed() == {JOB_ID_XCOM_KEY: JOB, JOB_URL_XCOM_KEY: FLOW_PAGE}


def test_deferred_timeout_without_a_summary_pushes_nothing(conn: str) -> None:
    from airflow_compat import AirflowSensorTimeout

    ti = RecordingTI()
    event = {"status": "timeout", "job_id": None, "job_status": None, "summary": None, "message": "no run yet"}
    with pytest.raises(AirflowSensorTimeout):
        flow_sensor(deferrable=True).execute_complete({"ti": ti}, event)
    assert ti.pushes == []


# -- elapsed time in reschedule mode -------------------------------------------------------------------------


def elapsed_in(output: str) -> int:
    found = re.findall(r", (\d+)s elapsed", output)
    assert found, output
    return int(found[-1])


def test_reschedule_mode_counts_from_the_first_poke(conn: str, requests_mock: Any, capsys: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("running"))
    now = datetime.now(timezone.utc)
    ti = RecordingTI(start_date=now, first_reschedule=now - timedelta(seconds=125))
    job_sensor(mode="reschedule", poke_interval=60).poke({"ti": ti})
    assert 125 <= elapsed_in(capsys.readouterr().out) <= 130
    assert ti.reschedule_lookups == 1


def test_first_poke_of_a_rescheduled_sensor_counts_from_its_start(conn: str, requests_mock: Any, capsys: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("running"))
    ti = RecordingTI(start_date=datetime.now(timezone.utc) - timedelta(seconds=3), first_reschedule=None)
    job_sensor(mode="reschedule", poke_interval=60).poke({"ti": ti})
    assert 3 <= elapsed_in(capsys.readouterr().out) <= 8


def test_poke_mode_counts_from_the_task_start(conn: str, requests_mock: Any, capsys: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("running"))
    now = datetime.now(timezone.utc)
    ti = RecordingTI(start_date=now - timedelta(seconds=40), first_reschedule=now - timedelta(seconds=999))
    job_sensor(mode="poke").poke({"ti": ti})
    assert 40 <= elapsed_in(capsys.readouterr().out) <= 45
    assert ti.reschedule_lookups == 0


def test_flow_sensor_logs_the_elapsed_time_too(conn: str, requests_mock: Any, capsys: Any) -> None:
    requests_mock.get(f"{API}/jobs", json=[job("running")])
    now = datetime.now(timezone.utc)
    ti = RecordingTI(start_date=now, first_reschedule=now - timedelta(seconds=300))
    flow_sensor(mode="reschedule", poke_interval=60).poke({"ti": ti})
    assert 300 <= elapsed_in(capsys.readouterr().out) <= 305
