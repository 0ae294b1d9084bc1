"""CeligoRunFlowOperator, CeligoFlowStateOperator and CeligoRunIntegrationFlowsOperator against requests-mock."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import requests
from airflow_compat import TaskDeferred

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, CeligoJobError, CeligoRunUnclearError
from airflow_provider_celigo.jobs.reattach import RUN_STATE_KEY
from airflow_provider_celigo.operators.flows import (
    CeligoFlowStateOperator,
    CeligoRunFlowOperator,
    CeligoRunIntegrationFlowsOperator,
    iso_time,
    run_order,
)
from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

API = "https://api.integrator.io/v1"
TEST_TOKEN = "unit-token-8d41c0a9e7f2"
FLOW = "6650f0000000000000000001"
FLOW_2 = "6650f0000000000000000002"
FLOW_3 = "6650f0000000000000000003"
INTEGRATION = "6650a0000000000000000001"
JOB = "6650aa000000000000000001"
JOB_2 = "6650aa000000000000000002"
EXPORT = "6650e0000000000000000001"
IMPORT = "6650d0000000000000000001"


class FakeTI:
    """The parts of a RuntimeTaskInstance the operator uses: try number, start date, XCom pushes."""

    def __init__(self, try_number: int = 1) -> None:
        self.try_number = try_number
        self.start_date = datetime.now(timezone.utc)
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


class FakeStateStore:
    """A dict with the task state store's ``get`` / ``set`` contract."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
        if value is None:
            raise ValueError("Cannot set value as None")
        self.values[key] = json.loads(json.dumps(value))


class FakeDagRun:
    def __init__(self, start_date: datetime) -> None:
        self.start_date = start_date


def make_context(ti: FakeTI | None = None, store: FakeStateStore | None = None, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"ti": ti or FakeTI(), **extra}
    if store is not None:
        context["task_state_store"] = store
    return context


def job(status: str, job_id: str = JOB, flow_id: str = FLOW, **fields: Any) -> dict[str, Any]:
    doc = {
        "_id": job_id,
        "type": "flow",
        "_flowId": flow_id,
        "_integrationId": INTEGRATION,
        "_exportId": EXPORT,
        "status": status,
        "numSuccess": 0,
        "numError": 0,
        "numIgnore": 0,
        "numPagesGenerated": 0,
        "createdAt": "2026-11-23T10:00:00.000Z",
    }
    if status in ("running", "completed", "failed", "canceled"):
        doc["startedAt"] = "2026-11-23T10:00:01.000Z"
    if status in ("completed", "failed", "canceled"):
        doc["endedAt"] = "2026-11-23T10:00:13.000Z"
    doc.update(fields)
    return doc


def responses(*docs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"json": doc} for doc in docs]


@pytest.fixture
def conn(celigo_conn: Any) -> str:
    return celigo_conn("celigo_default", password=TEST_TOKEN, max_retries=0)


# integrator.io's time when a run is requested (the Date header of GET /flows/{id}): one minute before the
# createdAt of the jobs above, so those jobs count as started by the request.
RUN_MARKER_DATE = "Mon, 23 Nov 2026 09:59:00 GMT"


@pytest.fixture(autouse=True)
def flow_reads(request: pytest.FixtureRequest) -> None:
    """In requests-mock tests, answer ``GET /flows/{id}`` (the run marker read before every run request)."""
    if "requests_mock" in request.fixturenames:
        request.getfixturevalue("requests_mock").get(
            re.compile(r"https://api(\.eu)?\.integrator\.io/v1/flows/[0-9a-f]{24}$"),
            json={"_id": FLOW},
            headers={"Date": RUN_MARKER_DATE},
        )


def mock_run(requests_mock: Any, *states: dict[str, Any], job_id: str = JOB, flow_id: str = FLOW) -> Any:
    """Mock ``POST /flows/{id}/run`` and the job's successive documents; return the POST matcher."""
    post = requests_mock.post(f"{API}/flows/{flow_id}/run", status_code=201, json={"_jobId": job_id})
    requests_mock.get(f"{API}/jobs/{job_id}", responses(*states))
    return post


def mock_failure_details(requests_mock: Any, job_id: str = JOB, *, messages: list[str]) -> None:
    """Mock the family of a job whose import step holds errors, and that step's errors."""
    family = job("failed", job_id)
    family["children"] = [
        {"_id": "6650ab000000000000000001", "type": "export", "_exportId": EXPORT, "status": "completed", "oIndex": 0},
        {
            "_id": "6650ab000000000000000002",
            "type": "import",
            "_importId": IMPORT,
            "status": "failed",
            "numError": len(messages),
            "oIndex": 1,
        },
    ]
    requests_mock.get(f"{API}/jobs/{job_id}/family", json=family)
    errors = [{"code": f"code_{i}", "message": text, "_flowJobId": job_id} for i, text in enumerate(messages)]
    errors.append({"code": "old", "message": "an error of another job", "_flowJobId": JOB_2})
    requests_mock.get(f"{API}/flows/{FLOW}/{IMPORT}/errors", json={"errors": errors})


def run_operator(**kwargs: Any) -> CeligoRunFlowOperator:
    kwargs.setdefault("poll_interval", 0.01)
    return CeligoRunFlowOperator(task_id="run", flow_id=FLOW, deferrable=kwargs.pop("deferrable", False), **kwargs)


# -- construction -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, -0.5, "30", True])
def test_poll_interval_must_be_positive(value: Any) -> None:
    with pytest.raises(CeligoConfigError, match="poll_interval"):
        CeligoRunFlowOperator(task_id="run", flow_id=FLOW, poll_interval=value)


@pytest.mark.parametrize("value", [0, -5, timedelta(seconds=-1)])
def test_timeout_must_be_positive(value: Any) -> None:
    with pytest.raises(CeligoConfigError, match="timeout"):
        CeligoRunFlowOperator(task_id="run", flow_id=FLOW, timeout=value)


@pytest.mark.parametrize(("on_errors", "max_errors"), [("ignore", None), ("fail", -1), ("warn", True), ("fail", 2.5)])
def test_error_policy_is_validated_at_construction(on_errors: str, max_errors: Any) -> None:
    with pytest.raises(CeligoConfigError):
        CeligoRunFlowOperator(task_id="run", flow_id=FLOW, on_errors=on_errors, max_errors=max_errors)


def test_deferrable_defaults_to_airflow_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    assert CeligoRunFlowOperator(task_id="a", flow_id=FLOW).deferrable is True
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "False")
    assert CeligoRunFlowOperator(task_id="b", flow_id=FLOW).deferrable is False


def test_template_fields_cover_ids_dates_and_options() -> None:
    fields = set(CeligoRunFlowOperator.template_fields)
    assert {"flow_id", "export_start_date", "export_end_date", "export_ids", "celigo_conn_id"} <= fields


def test_bad_flow_id_fails_at_execute_with_a_clear_message(conn: str) -> None:
    operator = CeligoRunFlowOperator(task_id="run", flow_id="{{ not rendered }}")
    with pytest.raises(CeligoConfigError, match=r"flow_id .* is not an integrator\.io id"):
        operator.execute(make_context())


# -- sync runs ----------------------------------------------------------------------------------------


def test_completed_run_returns_summary_and_pushes_xcom_before_waiting(
    conn: str, requests_mock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    post = mock_run(
        requests_mock,
        job("queued"),
        job("running", numSuccess=40, numPagesGenerated=2),
        job("completed", numSuccess=120, numPagesGenerated=6),
    )
    ti = FakeTI()
    pushed_after_requests: dict[str, int] = {}
    original_push = ti.xcom_push

    def recording_push(key: str, value: Any) -> None:
        pushed_after_requests[key] = len(requests_mock.request_history)
        original_push(key, value)

    ti.xcom_push = recording_push  # type: ignore[method-assign]
    summary = run_operator().execute(make_context(ti))

    assert post.call_count == 1
    assert summary["status"] == "completed" and summary["num_success"] == 120 and summary["job_id"] == JOB
    assert summary["duration_seconds"] == 12.0
    assert ti.pushed["celigo_job_id"] == JOB
    assert ti.pushed["celigo_job_url"] == f"https://integrator.io/integrations/{INTEGRATION}/flowBuilder/{FLOW}"
    # The id is pushed right after the run marker read and the POST; the URL after the first job read; every
    # job of the run once it has ended (2 more reads).
    assert pushed_after_requests == {"celigo_job_id": 2, "celigo_job_url": 3, "celigo_job_ids": 5}
    assert ti.pushed["celigo_job_ids"] == [JOB] and summary["job_ids"] == [JOB]
    out = capsys.readouterr().out
    assert f"Celigo job {JOB}: running, 40 ok / 0 errors / 0 ignored, 2 pages," in out
    assert "s elapsed" in out


def test_run_options_are_sent_in_the_run_body(conn: str, requests_mock: Any) -> None:
    post = mock_run(requests_mock, job("completed"))
    requests_mock.get(f"{API}/jobs", json=[job("completed")])  # two sources chosen: the run is read by listing
    run_operator(
        export_start_date=datetime(2026, 5, 1, 12, 30, tzinfo=timezone.utc),
        export_end_date="2026-05-02",
        export_ids=f"{EXPORT},{EXPORT.replace('1', '2', 1)}",
    ).execute(make_context())
    assert post.last_request.json() == {
        "export": {"startDate": "2026-05-01T12:30:00.000Z", "endDate": "2026-05-02T00:00:00.000Z"},
        "_exportIds": [EXPORT, EXPORT.replace("1", "2", 1)],
    }


def test_run_without_options_sends_an_empty_body(conn: str, requests_mock: Any) -> None:
    post = mock_run(requests_mock, job("completed"))
    run_operator().execute(make_context())
    assert post.last_request.json() == {}


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", 12])
def test_bad_export_date_is_refused(value: Any) -> None:
    with pytest.raises(CeligoConfigError, match="export_start_date"):
        iso_time(value, "export_start_date")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("2026-05-02", "2026-05-02T00:00:00.000Z"),
        (" 2026-05-02T10:20:30.456789Z ", "2026-05-02T10:20:30.456Z"),
        ("2026-05-02T12:00:00+02:00", "2026-05-02T10:00:00.000Z"),
        (datetime(2026, 5, 2, 10, 20, 30, 999999), "2026-05-02T10:20:30.999Z"),  # naive = UTC
        (datetime(2026, 5, 2, 1, 0, tzinfo=timezone(timedelta(hours=-3))), "2026-05-02T04:00:00.000Z"),
    ],
)
def test_iso_time_writes_utc_milliseconds(value: Any, expected: str | None) -> None:
    assert iso_time(value, "export_start_date") == expected


ISO_HINT = "give a datetime or an ISO-8601 string"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", f"export_end_date is 'yesterday'; {ISO_HINT} such as '2024-05-01T00:00:00Z'."),
        ("   ", f"export_end_date is '   '; {ISO_HINT} such as '2024-05-01T00:00:00Z'."),
        (12, f"export_end_date is 12; {ISO_HINT}."),
        (datetime(2026, 5, 2).date(), f"export_end_date is datetime.date(2026, 5, 2); {ISO_HINT}."),
    ],
)
def test_iso_time_error_messages(value: Any, message: str) -> None:
    with pytest.raises(CeligoConfigError) as caught:
        iso_time(value, "export_end_date")
    assert str(caught.value) == message


def test_failed_run_fails_the_task_and_logs_the_step_errors(
    conn: str, requests_mock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_run(requests_mock, job("running"), job("failed", numError=2))
    mock_failure_details(requests_mock, messages=["NetSuite login failed", "Record 2: field 'entity' is required"])
    with pytest.raises(CeligoJobError, match="failed") as caught:
        run_operator().execute(make_context())
    assert caught.value.summary["status"] == "failed"
    assert "NetSuite login failed" in str(caught.value)
    out = capsys.readouterr().out
    assert "code_0: NetSuite login failed" in out
    assert "code_1: Record 2: field 'entity' is required" in out
    assert "an error of another job" not in out


def test_at_most_five_step_errors_are_reported(conn: str, requests_mock: Any) -> None:
    mock_run(requests_mock, job("failed", numError=9))
    mock_failure_details(requests_mock, messages=[f"problem {i}" for i in range(9)])
    with pytest.raises(CeligoJobError) as caught:
        run_operator().execute(make_context())
    assert "problem 4" in str(caught.value) and "problem 5" not in str(caught.value)


def test_unreadable_step_errors_do_not_hide_the_failure(conn: str, requests_mock: Any) -> None:
    mock_run(requests_mock, job("failed"))
    requests_mock.get(f"{API}/jobs/{JOB}/family", status_code=404, json={"message": "gone"})
    with pytest.raises(CeligoJobError, match=f"Celigo job {JOB} failed"):
        run_operator().execute(make_context())


def test_canceled_run_fails_the_task(conn: str, requests_mock: Any) -> None:
    mock_run(requests_mock, job("running"), job("canceled"))
    with pytest.raises(CeligoJobError, match=f"Celigo job {JOB} canceled") as caught:
        run_operator().execute(make_context())
    assert caught.value.summary["status"] == "canceled"


@pytest.mark.parametrize(
    ("policy", "fails"),
    [
        ({"on_errors": "fail"}, True),
        ({"on_errors": "warn"}, False),
        ({"max_errors": 3}, False),
        ({"max_errors": 2}, True),
        ({"on_errors": "warn", "max_errors": 2}, True),
    ],
)
def test_completed_with_errors_follows_the_error_policy(
    conn: str, requests_mock: Any, capsys: pytest.CaptureFixture[str], policy: dict[str, Any], fails: bool
) -> None:
    mock_run(requests_mock, job("completed", numSuccess=7, numError=3))
    mock_failure_details(requests_mock, messages=["bad record 1", "bad record 2", "bad record 3"])
    operator = run_operator(**policy)
    if fails:
        with pytest.raises(CeligoJobError, match="more record errors than allowed") as caught:
            operator.execute(make_context())
        assert caught.value.summary["num_error"] == 3
    else:
        assert operator.execute(make_context())["num_error"] == 3
        assert "bad record 1" in capsys.readouterr().out


def test_deadline_cancels_the_job_and_fails(conn: str, requests_mock: Any) -> None:
    post = requests_mock.post(f"{API}/flows/{FLOW}/run", json={"_jobId": JOB})
    cancel = requests_mock.put(f"{API}/jobs/{JOB}/cancel", json=job("canceling"))

    def after_cancel(request: Any, context: Any) -> dict[str, Any]:
        return job("canceled" if cancel.called else "running")

    job_reads = requests_mock.get(f"{API}/jobs/{JOB}", json=after_cancel)
    with pytest.raises(CeligoJobError, match="deadline reached, job canceled") as caught:
        run_operator(timeout=0.05).execute(make_context())
    assert post.call_count == 1 and cancel.call_count == 1
    assert caught.value.summary["status"] == "canceled"
    assert job_reads.call_count >= 2


def test_execution_timeout_also_sets_the_deadline(conn: str, requests_mock: Any) -> None:
    requests_mock.post(f"{API}/flows/{FLOW}/run", json={"_jobId": JOB})
    cancel = requests_mock.put(f"{API}/jobs/{JOB}/cancel", json=job("canceling"))
    requests_mock.get(
        f"{API}/jobs/{JOB}", json=lambda request, context: job("canceled" if cancel.called else "running")
    )
    operator = run_operator(execution_timeout=timedelta(seconds=0.05))
    with pytest.raises(CeligoJobError, match="deadline reached"):
        operator.execute(make_context())
    assert cancel.call_count == 1


def test_on_kill_cancels_the_job_and_waits_for_canceled(conn: str, requests_mock: Any) -> None:
    cancel = requests_mock.put(f"{API}/jobs/{JOB}/cancel", json=job("canceling"))
    reads = requests_mock.get(f"{API}/jobs/{JOB}", responses(job("canceling"), job("canceled")))
    operator = run_operator()
    operator.job_id = JOB
    operator.on_kill()
    assert cancel.call_count == 1 and reads.call_count == 2


def test_on_kill_without_a_job_calls_nothing(conn: str, requests_mock: Any) -> None:
    run_operator().on_kill()
    assert requests_mock.call_count == 0


def test_fire_and_forget_returns_after_starting(conn: str, requests_mock: Any) -> None:
    post = mock_run(requests_mock, job("queued"), job("running"))
    ti = FakeTI()
    summary = run_operator(wait_for_completion=False).execute(make_context(ti))
    assert post.call_count == 1
    assert summary["status"] == "queued" and summary["outcome"] == "active"
    assert ti.pushed["celigo_job_id"] == JOB
    assert requests_mock.request_history[-1].method == "GET" and requests_mock.call_count == 3


def test_missing_integration_id_gives_a_standalone_flow_link(conn: str, requests_mock: Any) -> None:
    standalone = job("completed")
    del standalone["_integrationId"]
    mock_run(requests_mock, standalone)
    ti = FakeTI()
    run_operator().execute(make_context(ti))
    assert ti.pushed["celigo_job_url"] == f"https://integrator.io/integrations/none/flowBuilder/{FLOW}"


def test_eu_connection_links_to_the_eu_ui(celigo_conn: Any, requests_mock: Any) -> None:
    celigo_conn("celigo_default", region="eu")
    requests_mock.post(f"https://api.eu.integrator.io/v1/flows/{FLOW}/run", json={"_jobId": JOB})
    requests_mock.get(f"https://api.eu.integrator.io/v1/jobs/{JOB}", json=job("completed"))
    ti = FakeTI()
    run_operator().execute(make_context(ti))
    assert ti.pushed["celigo_job_url"].startswith("https://eu.integrator.io/integrations/")


def test_token_never_reaches_logs_xcom_or_errors(
    conn: str, requests_mock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_run(requests_mock, job("running"), job("failed"))
    mock_failure_details(requests_mock, messages=["NetSuite login failed"])
    ti = FakeTI()
    operator = run_operator()
    with pytest.raises(CeligoJobError) as caught:
        operator.execute(make_context(ti))
    assert requests_mock.request_history[0].headers["Authorization"] == f"Bearer {TEST_TOKEN}"
    captured = capsys.readouterr()
    for text in (captured.out, captured.err, str(caught.value), repr(caught.value), json.dumps(ti.pushed)):
        assert TEST_TOKEN not in text
    assert TEST_TOKEN not in repr(operator) and TEST_TOKEN not in repr(operator.hook)


# -- deferrable ---------------------------------------------------------------------------------------


def test_deferrable_run_defers_to_the_trigger_with_the_deadline(conn: str, requests_mock: Any) -> None:
    post = mock_run(requests_mock, job("queued"))
    ti = FakeTI()
    operator = run_operator(deferrable=True, poll_interval=5, timeout=600)
    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(make_context(ti))
    assert post.call_count == 1 and ti.pushed["celigo_job_id"] == JOB
    assert deferred.value.timeout is None
    assert deferred.value.method_name == "execute_complete"
    trigger = deferred.value.trigger
    assert isinstance(trigger, CeligoJobTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_celigo.triggers.jobs.CeligoJobTrigger"
    assert kwargs["job_id"] == JOB and kwargs["flow_id"] == FLOW and kwargs["poll_interval"] == 5
    assert kwargs["cancel_on_deadline"] is True and kwargs["cancel_on_kill"] is True
    remaining = kwargs["deadline"] - datetime.now(timezone.utc).timestamp()
    assert 590 < remaining <= 600


def test_deferrable_run_of_an_already_finished_job_does_not_defer(conn: str, requests_mock: Any) -> None:
    mock_run(requests_mock, job("completed", numSuccess=3))
    summary = run_operator(deferrable=True).execute(make_context())
    assert summary["num_success"] == 3


def event(status: str, doc: dict[str, Any] | None, message: str = "msg") -> dict[str, Any]:
    from airflow_provider_celigo.jobs.status import summarize

    return {
        "status": status,
        "job_id": JOB,
        "job_status": doc["status"] if doc else None,
        "summary": summarize(doc) if doc else None,
        "message": message,
    }


def test_execute_complete_success_returns_summary(conn: str) -> None:
    summary = run_operator(deferrable=True).execute_complete(make_context(), event("success", job("completed")))
    assert summary["status"] == "completed"


def test_execute_complete_failed_job_logs_step_errors(
    conn: str, requests_mock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    mock_failure_details(requests_mock, messages=["NetSuite login failed"])
    with pytest.raises(CeligoJobError, match="NetSuite login failed"):
        run_operator(deferrable=True).execute_complete(make_context(), event("error", job("failed")))
    assert "NetSuite login failed" in capsys.readouterr().out


def test_execute_complete_applies_the_error_policy(conn: str, requests_mock: Any) -> None:
    mock_failure_details(requests_mock, messages=["bad"])
    done = event("success", job("completed", numError=1))
    with pytest.raises(CeligoJobError, match="more record errors than allowed"):
        run_operator(deferrable=True).execute_complete(make_context(), done)
    assert run_operator(deferrable=True, on_errors="warn").execute_complete(make_context(), done)["num_error"] == 1


def test_execute_complete_timeout_reports_the_cancel(conn: str) -> None:
    message = f"Celigo job {JOB}: deadline reached, job canceled"
    with pytest.raises(CeligoJobError, match="deadline reached, job canceled"):
        run_operator(deferrable=True).execute_complete(make_context(), event("timeout", job("canceled"), message))


def test_execute_complete_api_error_mentions_reattach(conn: str) -> None:
    with pytest.raises(CeligoJobError, match="a retry of this task reattaches"):
        run_operator(deferrable=True).execute_complete(make_context(), event("error", None, "HTTP 401"))


# -- retries: no duplicate runs -------------------------------------------------------------------------


def test_retry_reattaches_to_the_job_of_the_first_try(conn: str, requests_mock: Any) -> None:
    """Try 1 starts the job and dies while polling; try 2 reattaches: exactly one POST /run."""
    store = FakeStateStore()
    post = requests_mock.post(f"{API}/flows/{FLOW}/run", json={"_jobId": JOB})
    requests_mock.get(f"{API}/jobs/{JOB}", exc=requests.ConnectionError("worker lost its network"))
    with pytest.raises(CeligoApiError):
        run_operator().execute(make_context(FakeTI(try_number=1), store))
    assert store.values[RUN_STATE_KEY]["job_id"] == JOB

    requests_mock.get(f"{API}/jobs/{JOB}", responses(job("running"), job("completed", numSuccess=5)))
    ti = FakeTI(try_number=2)
    summary = run_operator().execute(make_context(ti, store))
    assert post.call_count == 1
    assert summary["job_id"] == JOB and summary["num_success"] == 5
    assert ti.pushed["celigo_job_id"] == JOB


def test_retry_after_a_successful_job_returns_it_without_running(conn: str, requests_mock: Any) -> None:
    store = FakeStateStore()
    store.values[RUN_STATE_KEY] = {"flow_id": FLOW, "requested_at": "2026-11-23T10:00:00+00:00", "job_id": JOB}
    post = requests_mock.post(f"{API}/flows/{FLOW}/run", json={"_jobId": JOB_2})
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("completed", numSuccess=8))
    summary = run_operator().execute(make_context(FakeTI(try_number=2), store))
    assert post.call_count == 0 and summary["num_success"] == 8


@pytest.mark.parametrize("previous", ["failed", "canceled"])
def test_retry_after_a_failed_job_starts_a_fresh_run(conn: str, requests_mock: Any, previous: str) -> None:
    store = FakeStateStore()
    store.values[RUN_STATE_KEY] = {"flow_id": FLOW, "requested_at": "2026-11-23T10:00:00+00:00", "job_id": JOB}
    requests_mock.get(f"{API}/jobs/{JOB}", json=job(previous))
    post = mock_run(requests_mock, job("completed", JOB_2), job_id=JOB_2)
    summary = run_operator().execute(make_context(FakeTI(try_number=2), store))
    assert post.call_count == 1 and summary["job_id"] == JOB_2
    assert store.values[RUN_STATE_KEY]["job_id"] == JOB_2


def test_retry_after_errors_the_policy_rejected_starts_a_fresh_run(conn: str, requests_mock: Any) -> None:
    store = FakeStateStore()
    store.values[RUN_STATE_KEY] = {"flow_id": FLOW, "requested_at": "2026-11-23T10:00:00+00:00", "job_id": JOB}
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("completed", numError=4))
    post = mock_run(requests_mock, job("completed", JOB_2), job_id=JOB_2)
    run_operator(max_errors=1).execute(make_context(FakeTI(try_number=2), store))
    assert post.call_count == 1


def test_retry_when_the_first_try_never_requested_a_run_starts_one(conn: str, requests_mock: Any) -> None:
    post = mock_run(requests_mock, job("completed"))
    run_operator().execute(make_context(FakeTI(try_number=2), FakeStateStore()))
    assert post.call_count == 1
    assert not any(request.path == "/v1/jobs" for request in requests_mock.request_history)


def test_retry_after_dying_between_request_and_save_adopts_the_job_created_since(conn: str, requests_mock: Any) -> None:
    store = FakeStateStore()
    store.values[RUN_STATE_KEY] = {
        "flow_id": FLOW,
        "requested_at": "2026-11-23T10:00:00.000Z",
        "clock": "integrator.io",
    }
    search = requests_mock.get(f"{API}/jobs", json=[job("running")])
    post = requests_mock.post(f"{API}/flows/{FLOW}/run", json={"_jobId": JOB_2})
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("completed"))
    summary = run_operator().execute(make_context(FakeTI(try_number=2), store))
    assert post.call_count == 0 and summary["job_id"] == JOB
    query = search.last_request.qs
    assert query["_flowid"] == [FLOW] and query["type"] == ["flow"]
    assert "status" not in query  # any status: a quick flow has ended by the time the retry looks
    assert query["createdat_gte"] == ["2026-11-23t10:00:00.000z"]  # integrator.io's time: no margin


@pytest.mark.parametrize("status", ["completed", "failed"])
def test_retry_after_dying_finds_a_run_that_already_ended(conn: str, requests_mock: Any, status: str) -> None:
    store = FakeStateStore()
    store.values[RUN_STATE_KEY] = {
        "flow_id": FLOW,
        "requested_at": "2026-11-23T09:59:59.000Z",
        "clock": "integrator.io",
    }
    requests_mock.get(f"{API}/jobs", json=[job(status, numSuccess=8)])
    post = mock_run(requests_mock, job("completed", JOB_2), job_id=JOB_2)
    summary = run_operator().execute(make_context(FakeTI(try_number=2), store))
    if status == "completed":
        assert post.call_count == 0 and summary["job_id"] == JOB and summary["num_success"] == 8
    else:  # the previous try's run failed: this retry starts the run again, once
        assert post.call_count == 1 and summary["job_id"] == JOB_2


def test_retry_never_adopts_a_job_created_before_its_request(conn: str, requests_mock: Any) -> None:
    store = FakeStateStore()
    store.values[RUN_STATE_KEY] = {
        "flow_id": FLOW,
        "requested_at": "2026-11-23T10:00:00.001Z",
        "clock": "integrator.io",
    }
    requests_mock.get(f"{API}/jobs", json=[job("running")])  # created 1 ms before the request: another run's
    post = mock_run(requests_mock, job("completed", JOB_2), job_id=JOB_2)
    summary = run_operator().execute(make_context(FakeTI(try_number=2), store))
    assert post.call_count == 1 and summary["job_id"] == JOB_2


def test_retry_with_two_candidate_runs_fails_naming_them(conn: str, requests_mock: Any) -> None:
    store = FakeStateStore()
    store.values[RUN_STATE_KEY] = {
        "flow_id": FLOW,
        "requested_at": "2026-11-23T09:00:00.000Z",
        "clock": "integrator.io",
    }
    later = job("running", JOB_2, createdAt="2026-11-23T10:00:05.000Z")
    requests_mock.get(f"{API}/jobs", json=[later, job("completed")])
    post = mock_run(requests_mock, job("completed"))
    with pytest.raises(CeligoRunUnclearError, match=f"{JOB}, {JOB_2}.*on_unclear_run='adopt_earliest'") as caught:
        run_operator().execute(make_context(FakeTI(try_number=2), store))
    assert post.call_count == 0 and caught.value.job_ids == [JOB, JOB_2]
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("completed"))
    summary = run_operator(on_unclear_run="adopt_earliest").execute(make_context(FakeTI(try_number=2), store))
    assert post.call_count == 0 and summary["job_id"] == JOB


def test_on_unclear_run_is_checked(conn: str) -> None:
    with pytest.raises(CeligoConfigError, match="on_unclear_run is 'newest'"):
        run_operator(on_unclear_run="newest")


def test_legacy_record_in_airflow_time_keeps_the_clock_skew_margin(conn: str, requests_mock: Any) -> None:
    store = FakeStateStore()
    store.values[RUN_STATE_KEY] = {"flow_id": FLOW, "requested_at": "2026-11-23T10:00:00+00:00"}
    search = requests_mock.get(f"{API}/jobs", json=[job("running")])
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("completed"))
    summary = run_operator().execute(make_context(FakeTI(try_number=2), store))
    assert summary["job_id"] == JOB
    assert search.last_request.qs["createdat_gte"] == ["2026-11-23t09:55:00.000z"]


def test_first_try_records_integrator_io_time_before_the_request(conn: str, requests_mock: Any) -> None:
    store = FakeStateStore()
    seen: list[Any] = []
    post = requests_mock.post(
        f"{API}/flows/{FLOW}/run",
        json={"_jobId": JOB},
        additional_matcher=lambda request: seen.append(dict(store.values[RUN_STATE_KEY])) or True,
    )
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("completed"))
    run_operator().execute(make_context(FakeTI(), store))
    assert post.call_count == 1
    assert seen == [{"flow_id": FLOW, "requested_at": "2026-11-23T09:59:00.000Z", "clock": "integrator.io"}]
    assert store.values[RUN_STATE_KEY]["job_id"] == JOB


def test_retry_without_a_state_store_searches_since_the_dag_run_started(conn: str, requests_mock: Any) -> None:
    search = requests_mock.get(f"{API}/jobs", json=[job("running")])
    post = requests_mock.post(f"{API}/flows/{FLOW}/run", json={"_jobId": JOB_2})
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("completed"))
    dag_run = FakeDagRun(datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc))
    summary = run_operator().execute(make_context(FakeTI(try_number=3), dag_run=dag_run))
    assert post.call_count == 0 and summary["job_id"] == JOB
    assert search.last_request.qs["createdat_gte"] == ["2026-11-23t08:55:00.000z"]


def test_retry_without_a_state_store_and_no_active_job_starts_a_run(conn: str, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs", json=[])
    post = mock_run(requests_mock, job("completed"))
    run_operator().execute(make_context(FakeTI(try_number=2)))
    assert post.call_count == 1


def test_first_try_never_searches_for_old_jobs(conn: str, requests_mock: Any) -> None:
    store = FakeStateStore()
    store.values[RUN_STATE_KEY] = {"flow_id": FLOW, "requested_at": "2026-11-23T10:00:00+00:00", "job_id": JOB_2}
    post = mock_run(requests_mock, job("completed"))
    run_operator().execute(make_context(FakeTI(try_number=1), store))
    assert post.call_count == 1 and store.values[RUN_STATE_KEY]["job_id"] == JOB


def test_a_failing_state_store_does_not_fail_the_run(conn: str, requests_mock: Any) -> None:
    class BrokenStore(FakeStateStore):
        def set(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
            raise RuntimeError("state store unavailable")

    post = mock_run(requests_mock, job("completed"))
    assert run_operator().execute(make_context(FakeTI(), BrokenStore()))["status"] == "completed"
    assert post.call_count == 1


# -- flow switch ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("enabled", [True, False])
def test_flow_state_operator_patches_disabled(conn: str, requests_mock: Any, enabled: bool) -> None:
    patch = requests_mock.patch(f"{API}/flows/{FLOW}", status_code=204)
    result = CeligoFlowStateOperator(task_id="switch", flow_id=FLOW, enabled=enabled).execute(make_context())
    assert patch.last_request.json() == [{"op": "replace", "path": "/disabled", "value": not enabled}]
    assert result == {"flow_id": FLOW, "enabled": enabled}


def test_flow_state_operator_wants_a_boolean() -> None:
    with pytest.raises(CeligoConfigError, match="enabled"):
        CeligoFlowStateOperator(task_id="switch", flow_id=FLOW, enabled="yes")  # type: ignore[arg-type]


# -- integration flows ----------------------------------------------------------------------------------


def flow(flow_id: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"_id": flow_id, "name": name, "_integrationId": INTEGRATION, **fields}


def test_run_order_follows_run_next_chains() -> None:
    a, b, c, d = (f"6650f00000000000000000{i:02d}" for i in range(1, 5))
    flows = [flow(c, "C"), flow(a, "A", _runNextFlowIds=[c]), flow(b, "B"), flow(d, "D", _runNextFlowIds=[a])]
    order = [(item["name"], predecessor) for item, predecessor in run_order(flows)]
    assert order == [("B", None), ("D", None), ("A", d), ("C", a)]


def test_run_order_survives_a_cycle() -> None:
    flows = [flow(FLOW, "A", _runNextFlowIds=[FLOW_2]), flow(FLOW_2, "B", _runNextFlowIds=[FLOW])]
    assert [item["name"] for item, _ in run_order(flows)] == ["A", "B"]


def test_integration_flows_run_one_after_another(conn: str, requests_mock: Any) -> None:
    flows = [
        flow(FLOW, "Orders", _runNextFlowIds=[FLOW_2]),
        flow(FLOW_2, "Customers"),
        flow(FLOW_3, "Legacy", disabled=True),
    ]
    requests_mock.get(f"{API}/integrations/{INTEGRATION}/flows", json=flows)
    first = mock_run(requests_mock, job("running"), job("completed", numSuccess=2))
    requests_mock.get(f"{API}/jobs", json=[])  # integrator.io did not start the chained flow itself
    second = mock_run(requests_mock, job("completed", JOB_2, FLOW_2, numSuccess=3), job_id=JOB_2, flow_id=FLOW_2)
    third = requests_mock.post(f"{API}/flows/{FLOW_3}/run", json={"_jobId": JOB})
    ti = FakeTI()
    operator = CeligoRunIntegrationFlowsOperator(
        task_id="all", integration_id=INTEGRATION, poll_interval=0.01, chain_grace=0.02
    )
    summaries = operator.execute(make_context(ti))
    assert [s["flow_id"] for s in summaries] == [FLOW, FLOW_2]
    assert [s["num_success"] for s in summaries] == [2, 3]
    assert first.call_count == 1 and second.call_count == 1 and third.call_count == 0
    posts = [r.path for r in requests_mock.request_history if r.method == "POST"]
    assert posts == [f"/v1/flows/{FLOW}/run", f"/v1/flows/{FLOW_2}/run"]
    assert ti.pushed["celigo_job_id"] == JOB_2


def test_integration_flows_adopt_a_chained_run_started_by_integrator_io(conn: str, requests_mock: Any) -> None:
    requests_mock.get(
        f"{API}/integrations/{INTEGRATION}/flows",
        json=[flow(FLOW, "Orders", _runNextFlowIds=[FLOW_2]), flow(FLOW_2, "Customers")],
    )
    mock_run(requests_mock, job("completed"))
    requests_mock.get(f"{API}/jobs", json=[job("running", JOB_2, FLOW_2)])
    requests_mock.get(f"{API}/jobs/{JOB_2}", json=job("completed", JOB_2, FLOW_2))
    chained_post = requests_mock.post(f"{API}/flows/{FLOW_2}/run", json={"_jobId": JOB_2})
    operator = CeligoRunIntegrationFlowsOperator(task_id="all", integration_id=INTEGRATION, poll_interval=0.01)
    summaries = operator.execute(make_context())
    assert [s["job_id"] for s in summaries] == [JOB, JOB_2]
    assert chained_post.call_count == 0


def test_integration_flows_stop_at_the_first_failure(conn: str, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/integrations/{INTEGRATION}/flows", json=[flow(FLOW, "A"), flow(FLOW_2, "B")])
    mock_run(requests_mock, job("failed"))
    requests_mock.get(f"{API}/jobs/{JOB}/family", json={**job("failed"), "children": []})
    requests_mock.get(f"{API}/flows/{FLOW}/{EXPORT}/errors", json={"errors": []})
    second = requests_mock.post(f"{API}/flows/{FLOW_2}/run", json={"_jobId": JOB_2})
    operator = CeligoRunIntegrationFlowsOperator(task_id="all", integration_id=INTEGRATION, poll_interval=0.01)
    with pytest.raises(CeligoJobError, match="failed"):
        operator.execute(make_context())
    assert second.call_count == 0


def test_integration_id_is_checked_at_execute(conn: str) -> None:
    with pytest.raises(CeligoConfigError, match="integration_id"):
        CeligoRunIntegrationFlowsOperator(task_id="all", integration_id="nope").execute(make_context())


def test_integration_flows_against_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shop to ERP: orders, customers, inventory, invoices (3 errors, warned) run; refunds fails; legacy is off."""
    from airflow_provider_celigo.testing import connection_json, running_emulator
    from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

    with running_emulator(seed="demo", clock_speed=20) as server:
        monkeypatch.setenv("AIRFLOW_CONN_CELIGO_DEFAULT", connection_json(server))
        operator = CeligoRunIntegrationFlowsOperator(
            task_id="all", integration_id=DEMO_IDS["integration_shop"], poll_interval=0.2, on_errors="warn"
        )
        ti = FakeTI()
        with pytest.raises(CeligoJobError, match="NetSuite login failed"):
            operator.execute(make_context(ti))
        runs = server.admin.runs()
    expected = ("flow_orders", "flow_customers", "flow_inventory", "flow_invoices", "flow_refunds")
    assert runs == {DEMO_IDS[key]: 1 for key in expected}
    assert ti.pushed["celigo_job_id"] == operator.job_id


def test_default_poll_interval_comes_from_airflow_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_celigo.sensors.jobs import CeligoJobSensor

    assert run_operator(poll_interval=None).poll_interval == 30.0
    monkeypatch.setenv("AIRFLOW__CELIGO__DEFAULT_POLL_INTERVAL", "1.5")
    assert run_operator(poll_interval=None).poll_interval == 1.5
    assert run_operator(poll_interval=7).poll_interval == 7.0
    assert CeligoJobSensor(task_id="s", job_id=JOB).poke_interval == 1.5
    monkeypatch.setenv("AIRFLOW__CELIGO__DEFAULT_POLL_INTERVAL", "soon")
    with pytest.raises(CeligoConfigError, match=r"default_poll_interval \('soon'\)"):
        run_operator(poll_interval=None)


def test_a_reversed_export_window_is_refused_before_any_request(conn: str, requests_mock: Any) -> None:
    operator = run_operator(export_start_date="2026-11-02T00:00:00Z", export_end_date="2026-11-01T00:00:00Z")
    with pytest.raises(CeligoConfigError, match="reversed; swap them"):
        operator.execute(make_context())
    assert requests_mock.call_count == 0


def test_an_empty_export_window_is_sent_with_a_warning(
    conn: str, requests_mock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    post = mock_run(requests_mock, job("completed"))
    moment = "2026-11-02T00:00:00Z"
    run_operator(export_start_date=moment, export_end_date=moment).execute(make_context())
    assert post.call_count == 1
    assert post.last_request.json()["export"] == {
        "startDate": "2026-11-02T00:00:00.000Z",
        "endDate": "2026-11-02T00:00:00.000Z",
    }
    assert "the export window is empty" in capsys.readouterr().out
