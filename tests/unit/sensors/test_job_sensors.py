"""CeligoJobSensor and CeligoFlowRunSensor: poke, reschedule and deferrable paths against requests-mock."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import pytest
from airflow.sdk import PokeReturnValue
from airflow_compat import AirflowRescheduleException, AirflowSensorTimeout, AirflowSkipException, TaskDeferred
from sensor_flows import one_source_flows  # noqa: F401  (autouse fixture)

from airflow_provider_celigo.exceptions import CeligoConfigError, CeligoJobError
from airflow_provider_celigo.jobs.status import summarize
from airflow_provider_celigo.sensors.jobs import CeligoFlowRunSensor, CeligoJobSensor
from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

API = "https://api.integrator.io/v1"
FLOW = "6650f0000000000000000001"
JOB = "6650aa000000000000000001"
IMPORT = "6650d0000000000000000001"


class FakeTI:
    def __init__(self) -> None:
        self.try_number = 1
        self.start_date = datetime.now(timezone.utc)
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value

    def get_first_reschedule_date(self, context: Any) -> datetime | None:
        return None


def job(status: str, **fields: Any) -> dict[str, Any]:
    return {"_id": JOB, "type": "flow", "_flowId": FLOW, "status": status, **fields}


@pytest.fixture
def conn(celigo_conn: Any) -> str:
    return celigo_conn("celigo_default", max_retries=0)


def context(**extra: Any) -> dict[str, Any]:
    return {"ti": FakeTI(), **extra}


def job_sensor(**kwargs: Any) -> CeligoJobSensor:
    kwargs.setdefault("poke_interval", 0.01)
    kwargs.setdefault("deferrable", False)
    return CeligoJobSensor(task_id="wait", job_id=JOB, **kwargs)


def mock_step_errors(requests_mock: Any, message: str) -> None:
    family = {**job("failed"), "children": [{"type": "import", "_importId": IMPORT, "status": "failed", "oIndex": 1}]}
    requests_mock.get(f"{API}/jobs/{JOB}/family", json=family)
    errors = [{"code": "login_failed", "message": message, "_flowJobId": JOB}]
    requests_mock.get(f"{API}/flows/{FLOW}/{IMPORT}/errors", json={"errors": errors})


# -- CeligoJobSensor ---------------------------------------------------------------------------------------


def test_poke_is_not_done_while_the_job_runs(conn: str, requests_mock: Any, capsys: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("running", numSuccess=3))
    answer = job_sensor().poke(context())
    assert isinstance(answer, PokeReturnValue) and not answer.is_done
    assert f"Celigo job {JOB}: running, 3 ok / 0 errors" in capsys.readouterr().out


def test_poke_is_done_with_the_summary(conn: str, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("completed", numSuccess=9))
    answer = job_sensor().poke(context())
    assert answer.is_done and answer.xcom_value["num_success"] == 9


def test_poke_mode_waits_until_the_job_ends(conn: str, requests_mock: Any) -> None:
    reads = requests_mock.get(
        f"{API}/jobs/{JOB}", [{"json": job("queued")}, {"json": job("running")}, {"json": job("completed")}]
    )
    assert job_sensor(mode="poke").execute(context())["status"] == "completed"
    assert reads.call_count == 3


def test_reschedule_mode_frees_the_slot_while_running(conn: str, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("running"))
    with pytest.raises(AirflowRescheduleException):
        job_sensor(mode="reschedule", poke_interval=60).execute(context())


def test_failed_job_fails_the_sensor_with_its_errors(conn: str, requests_mock: Any, capsys: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("failed"))
    mock_step_errors(requests_mock, "NetSuite login failed")
    with pytest.raises(CeligoJobError, match="NetSuite login failed"):
        job_sensor().execute(context())
    assert "login_failed: NetSuite login failed" in capsys.readouterr().out


def test_canceled_job_fails_the_sensor(conn: str, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("canceled"))
    with pytest.raises(CeligoJobError, match="canceled"):
        job_sensor().execute(context())


@pytest.mark.parametrize(("policy", "fails"), [({}, True), ({"on_errors": "warn"}, False), ({"max_errors": 5}, False)])
def test_error_policy_applies_to_the_sensor(conn: str, requests_mock: Any, policy: dict[str, Any], fails: bool) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("completed", numError=2))
    mock_step_errors(requests_mock, "bad record")
    sensor = job_sensor(**policy)
    if fails:
        with pytest.raises(CeligoJobError, match="more record errors than allowed"):
            sensor.execute(context())
    else:
        assert sensor.execute(context())["num_error"] == 2


def test_templated_job_id_is_checked(conn: str) -> None:
    sensor = CeligoJobSensor(task_id="wait", job_id="None", poke_interval=1)
    with pytest.raises(CeligoConfigError, match="job_id 'None'"):
        sensor.poke(context())


def test_poke_interval_must_be_positive() -> None:
    with pytest.raises(CeligoConfigError, match="poke_interval"):
        CeligoJobSensor(task_id="wait", job_id=JOB, poke_interval=0)


def test_deferrable_sensor_defers_to_a_non_canceling_trigger(conn: str, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("running"))
    sensor = job_sensor(deferrable=True, poke_interval=7, timeout=300)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context())
    assert deferred.value.timeout is None and deferred.value.method_name == "execute_complete"
    trigger = deferred.value.trigger
    assert isinstance(trigger, CeligoJobTrigger)
    kwargs = trigger.serialize()[1]
    assert kwargs["job_id"] == JOB and kwargs["poll_interval"] == 7
    assert kwargs["cancel_on_deadline"] is False and kwargs["cancel_on_kill"] is False
    assert 290 < kwargs["deadline"] - time.time() <= 300


def test_deferrable_sensor_does_not_defer_for_an_ended_job(conn: str, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("completed"))
    assert job_sensor(deferrable=True).execute(context())["status"] == "completed"


def test_execute_complete_returns_the_summary(conn: str) -> None:
    event = {"status": "success", "job_id": JOB, "job_status": "completed", "summary": summarize(job("completed"))}
    assert job_sensor(deferrable=True).execute_complete(context(), event)["job_id"] == JOB


def test_execute_complete_timeout_is_a_sensor_timeout(conn: str) -> None:
    event = {"status": "timeout", "job_id": JOB, "job_status": "running", "summary": None, "message": "late"}
    with pytest.raises(AirflowSensorTimeout, match="late"):
        job_sensor(deferrable=True).execute_complete(context(), event)


def test_soft_fail_turns_a_deferred_timeout_into_a_skip(conn: str) -> None:
    event = {"status": "timeout", "job_id": JOB, "job_status": "running", "summary": None, "message": "late"}
    sensor = job_sensor(deferrable=True, soft_fail=True)
    with pytest.raises(AirflowSkipException):
        sensor.resume_execution("execute_complete", {"event": event}, context())


def test_execute_complete_error_without_job_fails(conn: str) -> None:
    event = {"status": "error", "job_id": JOB, "job_status": None, "summary": None, "message": "HTTP 401"}
    with pytest.raises(CeligoJobError, match="HTTP 401"):
        job_sensor(deferrable=True).execute_complete(context(), event)


# -- CeligoFlowRunSensor -------------------------------------------------------------------------------------


def flow_sensor(**kwargs: Any) -> CeligoFlowRunSensor:
    kwargs.setdefault("poke_interval", 0.01)
    kwargs.setdefault("deferrable", False)
    return CeligoFlowRunSensor(task_id="wait_flow", flow_id=FLOW, **kwargs)


def test_flow_sensor_waits_for_a_run_after_the_data_interval_start(conn: str, requests_mock: Any) -> None:
    search = requests_mock.get(f"{API}/jobs", json=[])
    start = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    answer = flow_sensor().poke(context(data_interval_start=start))
    assert not answer.is_done
    query = search.last_request.qs
    assert query["_flowid"] == [FLOW] and query["type"] == ["flow"]
    assert query["createdat_gte"] == ["2026-11-23t10:00:00.000z"]


def test_flow_sensor_uses_created_after_when_given(conn: str, requests_mock: Any) -> None:
    search = requests_mock.get(f"{API}/jobs", json=[job("running")])
    answer = flow_sensor(created_after="2026-11-20T08:00:00+02:00").poke(context())
    assert not answer.is_done
    assert search.last_request.qs["createdat_gte"] == ["2026-11-20t06:00:00.000z"]


def test_flow_sensor_returns_the_summary_of_the_ended_run(conn: str, requests_mock: Any) -> None:
    requests_mock.get(
        f"{API}/jobs", [{"json": []}, {"json": [job("running")]}, {"json": [job("completed", numSuccess=4)]}]
    )
    start = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    summary = flow_sensor().execute(context(logical_date=start))
    assert summary["num_success"] == 4 and summary["job_id"] == JOB


def test_flow_sensor_fails_for_a_failed_run(conn: str, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs", json=[job("failed")])
    mock_step_errors(requests_mock, "NetSuite login failed")
    with pytest.raises(CeligoJobError, match="NetSuite login failed"):
        flow_sensor(created_after="2026-11-23T10:00:00Z").execute(context())


def test_flow_sensor_deferrable_lets_the_trigger_find_the_run(conn: str, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs", json=[])
    sensor = flow_sensor(deferrable=True, created_after="2026-11-23T10:00:00Z")
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context())
    kwargs = deferred.value.trigger.serialize()[1]
    assert kwargs["job_id"] is None and kwargs["flow_id"] == FLOW
    assert kwargs["created_after"] == "2026-11-23T10:00:00.000Z"
    assert kwargs["cancel_on_kill"] is False


def test_flow_sensor_template_fields() -> None:
    assert {"flow_id", "created_after"} <= set(CeligoFlowRunSensor.template_fields)
    assert "job_id" in CeligoJobSensor.template_fields
