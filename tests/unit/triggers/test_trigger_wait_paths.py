"""CeligoJobTrigger's own loop and its shared-poller path both run through ``jobs.wait.wait_for_job_async``."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from airflow_provider_celigo.jobs import wait
from airflow_provider_celigo.triggers import jobs as trigger_module
from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

FLOW = "6650f0000000000000000001"
JOB = "6650aa000000000000000001"


def job(status: str) -> dict[str, Any]:
    return {"_id": JOB, "type": "flow", "_flowId": FLOW, "status": status, "numSuccess": 0}


class Hook:
    """``get_job`` answers from a script (the last repeats); a cancel makes the job canceled."""

    def __init__(self, *answers: dict[str, Any]) -> None:
        self.answers = list(answers)
        self.cancels = 0
        self.closed = False

    async def get_job(self, job_id: str) -> dict[str, Any]:
        await asyncio.sleep(0)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    async def cancel_job(self, job_id: str) -> dict[str, Any]:
        self.cancels += 1
        self.answers = [job("canceled")]
        return job("canceling")

    async def list_jobs(self, **filters: Any) -> list[dict[str, Any]]:
        return []

    async def aclose(self) -> None:
        self.closed = True


def fire(trigger: CeligoJobTrigger) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        [event] = [event.payload async for event in trigger.run()]
        return event

    return asyncio.run(run())


@pytest.mark.parametrize("shared", [True, False])
def test_both_paths_use_the_one_async_wait(monkeypatch: pytest.MonkeyPatch, shared: bool) -> None:
    hook = Hook(job("running"), job("completed"))
    monkeypatch.setattr(CeligoJobTrigger, "_make_hook", lambda self: hook)
    calls: list[dict[str, Any]] = []

    async def recording_wait(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs)
        return await wait.wait_for_job_async(*args, **kwargs)

    monkeypatch.setattr(trigger_module, "wait_for_job_async", recording_wait)
    trigger = CeligoJobTrigger(job_id=JOB, flow_id=FLOW, poll_interval=0.01, shared_poller=shared)
    event = fire(trigger)
    assert event["status"] == "success" and event["job_status"] == "completed"
    assert len(calls) == 1 and calls[0]["poll_interval"] == 0.01 and calls[0]["deadline"] is None
    assert (calls[0]["next_document"] is not None) is shared


@pytest.mark.parametrize("shared", [True, False])
def test_deadline_cancel_goes_through_the_async_cancel_and_confirm(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], shared: bool
) -> None:
    hook = Hook(job("running"))
    monkeypatch.setattr(CeligoJobTrigger, "_make_hook", lambda self: hook)
    trigger = CeligoJobTrigger(
        job_id=JOB, flow_id=FLOW, poll_interval=0.01, deadline=time.time() + 0.05, shared_poller=shared
    )
    event = fire(trigger)
    assert event == {
        "status": "timeout",
        "job_id": JOB,
        "job_status": "canceled",
        "summary": event["summary"],
        "message": f"Celigo job {JOB}: deadline reached, job canceled",
    }
    assert event["summary"]["status"] == "canceled" and hook.cancels == 1 and hook.closed
    out = capsys.readouterr().out
    assert f"Canceling Celigo job {JOB}" in out and f"Celigo job {JOB} is canceled after the cancel request" in out


def test_own_loop_sleeps_are_cut_short_at_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    hook = Hook(job("running"))
    reads: list[float] = []
    original_get_job = hook.get_job

    async def get_job(job_id: str) -> dict[str, Any]:
        reads.append(time.monotonic())
        return await original_get_job(job_id)

    async def no_first_sleep(self: CeligoJobTrigger) -> None:
        return None

    monkeypatch.setattr(hook, "get_job", get_job)
    monkeypatch.setattr(CeligoJobTrigger, "_make_hook", lambda self: hook)
    monkeypatch.setattr(CeligoJobTrigger, "_sleep", no_first_sleep)
    trigger = CeligoJobTrigger(
        job_id=JOB, flow_id=FLOW, poll_interval=3600, deadline=time.time() + 0.3, shared_poller=False
    )
    event = fire(trigger)
    assert event["status"] == "timeout" and hook.cancels == 1
    # read, sleep until the deadline (not an hour), read again, cancel, read to confirm
    assert len(reads) == 3 and 0.2 < reads[1] - reads[0] < 10
