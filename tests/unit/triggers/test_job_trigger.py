"""CeligoJobTrigger: serialization, the poll loop, deadline, on_kill (coroutines driven with asyncio.run)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError
from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

FLOW = "6650f0000000000000000001"
JOB = "6650aa000000000000000001"
TOKEN = "trigger-token-5b7d2e9c31"


def job(status: str, job_id: str = JOB, **fields: Any) -> dict[str, Any]:
    return {"_id": job_id, "type": "flow", "_flowId": FLOW, "status": status, "numSuccess": 0, **fields}


class FakeAsyncHook:
    """Answers ``get_job`` from a script (the last answer repeats); records cancels and closing."""

    def __init__(self, *answers: dict[str, Any] | Exception, listings: list[list[dict[str, Any]]] | None = None):
        self.answers = list(answers)
        self.listings = listings or []
        self.cancels: list[str] = []
        self.list_filters: list[dict[str, Any]] = []
        self.closed = False

    async def get_job(self, job_id: str) -> dict[str, Any]:
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def cancel_job(self, job_id: str) -> dict[str, Any]:
        self.cancels.append(job_id)
        self.answers = [job("canceled", job_id)]
        return job("canceling", job_id)

    async def list_jobs(self, **filters: Any) -> list[dict[str, Any]]:
        self.list_filters.append(filters)
        return self.listings.pop(0) if len(self.listings) > 1 else self.listings[0]

    async def aclose(self) -> None:
        self.closed = True


def use_hook(monkeypatch: pytest.MonkeyPatch, hook: FakeAsyncHook) -> FakeAsyncHook:
    monkeypatch.setattr(CeligoJobTrigger, "_make_hook", lambda self: hook)
    return hook


def collect(trigger: CeligoJobTrigger) -> list[dict[str, Any]]:
    async def run() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(run())


def make_trigger(**kwargs: Any) -> CeligoJobTrigger:
    kwargs.setdefault("job_id", JOB)
    kwargs.setdefault("flow_id", FLOW)
    kwargs.setdefault("poll_interval", 0.01)
    return CeligoJobTrigger(**kwargs)


# -- serialization -------------------------------------------------------------------------------------


def test_serialize_round_trip_is_stable() -> None:
    trigger = CeligoJobTrigger(
        job_id=JOB, flow_id=FLOW, celigo_conn_id="celigo_eu", poll_interval=5, deadline=1_900_000_000.5
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_celigo.triggers.jobs.CeligoJobTrigger"
    assert kwargs == {
        "job_id": JOB,
        "flow_id": FLOW,
        "celigo_conn_id": "celigo_eu",
        "poll_interval": 5.0,
        "deadline": 1_900_000_000.5,
        "cancel_on_deadline": True,
        "cancel_on_kill": True,
        "created_after": None,
    }
    rebuilt = CeligoJobTrigger(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)


def test_iso_deadline_becomes_epoch_seconds() -> None:
    trigger = make_trigger(deadline="2030-01-01T00:00:00Z")
    assert trigger.serialize()[1]["deadline"] == 1_893_456_000.0
    assert CeligoJobTrigger(**trigger.serialize()[1]).deadline == 1_893_456_000.0


@pytest.mark.parametrize("bad", [{"poll_interval": 0}, {"deadline": "soon"}, {"job_id": "42"}])
def test_bad_arguments_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(CeligoConfigError):
        make_trigger(**bad)


def test_a_job_or_a_flow_to_search_is_required() -> None:
    with pytest.raises(ValueError, match="job_id"):
        CeligoJobTrigger(job_id=None, flow_id=FLOW)


# -- run ---------------------------------------------------------------------------------------------------


def test_completed_job_fires_success_with_summary(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    hook = use_hook(
        monkeypatch,
        FakeAsyncHook(
            job("queued"),
            job("running", numSuccess=10, numPagesGenerated=1),
            job("completed", numSuccess=30, numError=1, numPagesGenerated=2),
        ),
    )
    [event] = collect(make_trigger())
    assert event["status"] == "success" and event["job_status"] == "completed" and event["job_id"] == JOB
    assert event["summary"]["num_success"] == 30 and event["summary"]["num_error"] == 1
    assert hook.closed and hook.cancels == []
    out = capsys.readouterr().out
    assert out.count(f"Celigo job {JOB}:") == 3
    assert "running, 10 ok / 0 errors / 0 ignored, 1 pages" in out


@pytest.mark.parametrize(("status", "event_status"), [("failed", "error"), ("canceled", "canceled")])
def test_failed_and_canceled_jobs(monkeypatch: pytest.MonkeyPatch, status: str, event_status: str) -> None:
    use_hook(monkeypatch, FakeAsyncHook(job("running"), job(status)))
    [event] = collect(make_trigger())
    assert event["status"] == event_status and event["job_status"] == status
    assert event["summary"]["status"] == status


def test_deadline_cancels_the_job_and_fires_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = use_hook(monkeypatch, FakeAsyncHook(job("running")))
    [event] = collect(make_trigger(deadline=time.time() + 0.05))
    assert hook.cancels == [JOB] and hook.closed
    assert event["status"] == "timeout" and event["job_status"] == "canceled"
    assert event["message"] == f"Celigo job {JOB}: deadline reached, job canceled"


def test_deadline_already_past_cancels_at_the_first_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = use_hook(monkeypatch, FakeAsyncHook(job("queued")))
    [event] = collect(make_trigger(deadline=time.time() - 1, poll_interval=3600))
    assert hook.cancels == [JOB] and event["status"] == "timeout"


def test_deadline_without_cancel_leaves_the_job_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = use_hook(monkeypatch, FakeAsyncHook(job("running")))
    [event] = collect(make_trigger(deadline=time.time() + 0.03, cancel_on_deadline=False))
    assert hook.cancels == [] and event["status"] == "timeout" and event["job_status"] == "running"
    assert "still running" in event["message"]


def test_persistent_api_error_fires_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    failure = CeligoApiError(status=503, method="GET", path=f"/v1/jobs/{JOB}", message="unavailable")
    hook = use_hook(monkeypatch, FakeAsyncHook(job("running"), failure))
    [event] = collect(make_trigger())
    assert event["status"] == "error" and event["job_status"] is None and event["summary"] is None
    assert "HTTP 503" in event["message"] and hook.closed


def test_unknown_job_status_fires_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    use_hook(monkeypatch, FakeAsyncHook(job("exploded")))
    [event] = collect(make_trigger())
    assert event["status"] == "error" and "unknown status" in event["message"]


def test_without_job_id_it_waits_for_the_flows_next_run(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = use_hook(monkeypatch, FakeAsyncHook(job("running"), job("completed"), listings=[[], [], [job("running")]]))
    trigger = make_trigger(job_id=None, created_after="2026-11-23T10:00:00.000Z")
    [event] = collect(trigger)
    assert event["status"] == "success" and event["job_id"] == JOB
    assert hook.list_filters[0] == {"_flowId": FLOW, "type": "flow", "createdAt_gte": "2026-11-23T10:00:00.000Z"}
    assert len(hook.list_filters) == 3


def test_without_job_id_deadline_fires_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = use_hook(monkeypatch, FakeAsyncHook(job("running"), listings=[[]]))
    trigger = make_trigger(job_id=None, created_after="2026-11-23T10:00:00.000Z", deadline=time.time() + 0.03)
    [event] = collect(trigger)
    assert event["status"] == "timeout" and event["job_id"] is None and hook.cancels == []


# -- on_kill -------------------------------------------------------------------------------------------------


def test_on_kill_cancels_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = use_hook(monkeypatch, FakeAsyncHook(job("running")))
    asyncio.run(make_trigger().on_kill())
    assert hook.cancels == [JOB] and hook.closed


def test_on_kill_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = use_hook(monkeypatch, FakeAsyncHook(job("running")))
    asyncio.run(make_trigger(cancel_on_kill=False).on_kill())
    assert hook.cancels == []


def test_on_kill_survives_a_failing_cancel(monkeypatch: pytest.MonkeyPatch) -> None:
    class RefusingHook(FakeAsyncHook):
        async def cancel_job(self, job_id: str) -> dict[str, Any]:
            self.cancels.append(job_id)
            raise CeligoApiError(status=422, method="PUT", path="/v1/jobs/x/cancel", message="already ended")

    hook = use_hook(monkeypatch, RefusingHook(job("completed")))
    asyncio.run(make_trigger().on_kill())
    assert hook.cancels == [JOB] and hook.closed


# -- with the real async hook over httpx.MockTransport --------------------------------------------------------


def mock_transport(monkeypatch: pytest.MonkeyPatch, handler: Callable[[httpx.Request], httpx.Response]) -> None:
    real_client = httpx.AsyncClient

    def client(**kwargs: Any) -> httpx.AsyncClient:
        return real_client(transport=httpx.MockTransport(handler), **kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", client)


def test_real_async_hook_round_trip(monkeypatch: pytest.MonkeyPatch, celigo_conn: Any, capsys: Any) -> None:
    celigo_conn("celigo_default", password=TOKEN, max_retries=0)
    seen: list[httpx.Request] = []
    states = iter(["running", "completed"])

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "PUT":
            return httpx.Response(200, json=job("canceling"))
        return httpx.Response(200, json=job(next(states, "completed"), numSuccess=4))

    mock_transport(monkeypatch, handler)
    [event] = collect(make_trigger())
    assert event["status"] == "success" and event["summary"]["num_success"] == 4
    assert [r.url.path for r in seen] == [f"/v1/jobs/{JOB}", f"/v1/jobs/{JOB}"]
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in json.dumps(event) and TOKEN not in capsys.readouterr().out


def test_real_async_hook_deadline_sends_the_cancel(monkeypatch: pytest.MonkeyPatch, celigo_conn: Any) -> None:
    celigo_conn("celigo_default", password=TOKEN, max_retries=0)
    canceled: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            canceled.append(request.url.path)
            return httpx.Response(200, json=job("canceling"))
        return httpx.Response(200, json=job("canceled" if canceled else "running"))

    mock_transport(monkeypatch, handler)
    [event] = collect(make_trigger(deadline=time.time() + 0.05))
    assert canceled == [f"/v1/jobs/{JOB}/cancel"]
    assert event["status"] == "timeout" and event["job_status"] == "canceled"


def test_real_async_hook_unauthorized_fires_error(monkeypatch: pytest.MonkeyPatch, celigo_conn: Any) -> None:
    celigo_conn("celigo_default", password=TOKEN, max_retries=0)
    mock_transport(monkeypatch, lambda request: httpx.Response(401, json={"message": "Unauthorized"}))
    [event] = collect(make_trigger())
    assert event["status"] == "error" and "HTTP 401" in event["message"]
    assert TOKEN not in event["message"]


@pytest.mark.parametrize("shared", [True, False])
def test_first_look_waits_one_interval_after_the_deferral(monkeypatch: pytest.MonkeyPatch, shared: bool) -> None:
    """The operator has just read the job: the trigger's first read comes one poll interval later."""
    events: list[str] = []
    hook = FakeAsyncHook(job("completed"))
    original_get_job = hook.get_job

    async def get_job(job_id: str) -> dict[str, Any]:
        events.append("get_job")
        return await original_get_job(job_id)

    real_sleep = CeligoJobTrigger._sleep

    async def sleep(self: CeligoJobTrigger) -> None:
        events.append("sleep")
        await real_sleep(self)

    monkeypatch.setattr(hook, "get_job", get_job)
    monkeypatch.setattr(CeligoJobTrigger, "_sleep", sleep)
    use_hook(monkeypatch, hook)
    [event] = collect(make_trigger(shared_poller=shared))
    assert event["status"] == "success"
    assert events[0] == "sleep", events
