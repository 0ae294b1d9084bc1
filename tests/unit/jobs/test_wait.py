"""jobs/wait.py: the pure helpers, the sync and async waits and cancel-and-confirm, on a fake clock."""

from __future__ import annotations

import asyncio
import math
import time
from datetime import timedelta
from typing import Any

import pytest

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, DeadlineReached, InvalidJobDocument
from airflow_provider_celigo.jobs.wait import (
    cancel_and_confirm,
    cancel_and_confirm_async,
    deadline_passed,
    every_interval,
    pause,
    positive_seconds,
    seconds_left,
    wait_for_job,
    wait_for_job_async,
    wait_limits,
)

JOB = "6650aa000000000000000001"
Job = dict[str, Any]


def job(status: str, **fields: Any) -> Job:
    return {"_id": JOB, "type": "flow", "status": status, "numSuccess": 0, **fields}


def api_error(status: int = 503) -> CeligoApiError:
    return CeligoApiError(status=status, method="GET", path=f"/v1/jobs/{JOB}", message="unavailable")


class FakeTime:
    """A clock that only moves when someone sleeps; records every sleep."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


class RecordingLog:
    """The two logger methods the waits call, kept as formatted lines."""

    def __init__(self) -> None:
        self.infos: list[str] = []
        self.warnings: list[str] = []

    def info(self, message: str, *args: Any) -> None:
        self.infos.append(message % args if args else message)

    def warning(self, message: str, *args: Any) -> None:
        self.warnings.append(message % args if args else message)


class ScriptedJobs:
    """``get_job`` answers from a script (the last answer repeats); ``cancel_job`` can succeed or fail."""

    def __init__(self, *answers: Job | Exception, cancel_error: Exception | None = None) -> None:
        self.answers = list(answers)
        self.cancel_error = cancel_error
        self.reads = 0
        self.cancels: list[str] = []

    def answer(self) -> Job:
        self.reads += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def cancel(self, job_id: str) -> Job:
        self.cancels.append(job_id)
        if self.cancel_error is not None:
            raise self.cancel_error
        return job("canceling")


class SyncJobs(ScriptedJobs):
    def get_job(self, job_id: str) -> Job:
        return self.answer()

    def cancel_job(self, job_id: str) -> Job:
        return self.cancel(job_id)


class AsyncJobs(ScriptedJobs):
    async def get_job(self, job_id: str) -> Job:
        await asyncio.sleep(0)
        return self.answer()

    async def cancel_job(self, job_id: str) -> Job:
        return self.cancel(job_id)


# -- pure helpers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, float("nan"), 0, -1, "30", True, None, [5]])
def test_positive_seconds_refuses_what_is_not_a_finite_positive_number(value: Any) -> None:
    with pytest.raises(CeligoConfigError, match=r"^poke_interval is .*finite number of seconds greater than 0"):
        positive_seconds(value, "poke_interval")


def test_positive_seconds_refuses_inf_and_nan_even_when_none_is_allowed() -> None:
    for value in (math.inf, math.nan):
        with pytest.raises(CeligoConfigError, match="timeout"):
            positive_seconds(value, "timeout", allow_none=True)
    assert positive_seconds(None, "timeout", allow_none=True) is None


def test_positive_seconds_accepts_numbers_and_timedeltas() -> None:
    assert positive_seconds(2, "poll_interval") == 2.0
    assert positive_seconds(0.25, "poll_interval") == 0.25
    assert positive_seconds(timedelta(minutes=2), "poll_interval") == 120.0


def test_wait_limits_turn_a_timeout_into_a_deadline() -> None:
    interval, deadline = wait_limits(5, 60)
    assert interval == 5.0 and deadline is not None and 55 < deadline - time.time() <= 60
    assert wait_limits(timedelta(seconds=3), None) == (3.0, None)
    with pytest.raises(CeligoConfigError, match="timeout"):
        wait_limits(5, math.inf)
    with pytest.raises(CeligoConfigError, match="poll_interval"):
        wait_limits(math.nan, 60)


def test_pause_is_the_interval_cut_short_at_the_deadline() -> None:
    assert pause(30.0, None) == 30.0
    assert pause(30.0, 100.0) == 30.0
    assert pause(30.0, 4.5) == 4.5
    assert pause(30.0, -3.0) == 0.0
    assert seconds_left(None, 10.0) is None and seconds_left(12.0, 10.0) == 2.0
    assert deadline_passed(10.0, 10.0) and not deadline_passed(10.5, 10.0) and not deadline_passed(None, 1e12)


def test_every_interval_reads_at_once_then_sleeps_before_each_read() -> None:
    fake = FakeTime()
    values = iter([1, 2, 3])

    async def read() -> int:
        return next(values)

    async def scenario() -> list[int]:
        source = every_interval(read, 10.0, sleep=fake.asleep)
        return [await source(None), await source(4.0), await source(None)]

    assert asyncio.run(scenario()) == [1, 2, 3]
    assert fake.sleeps == [4.0, 10.0]  # none before the first read; the second one cut short at the deadline


# -- sync wait -----------------------------------------------------------------------------------------------


def test_sync_wait_returns_the_final_document_with_one_line_per_poll() -> None:
    fake, log = FakeTime(), RecordingLog()
    hook = SyncJobs(job("queued"), job("running", numSuccess=3), job("completed", numSuccess=9))
    final = wait_for_job(hook, JOB, poll_interval=5.0, deadline=None, log=log, sleep=fake.sleep, clock=fake.clock)
    assert final["status"] == "completed" and hook.reads == 3
    assert fake.sleeps == [5.0, 5.0]
    assert log.infos[1] == f"Celigo job {JOB}: running, 3 ok / 0 errors / 0 ignored, 0 pages, 5s elapsed"
    assert len(log.infos) == 3


def test_sync_wait_raises_deadline_reached_with_the_last_document() -> None:
    fake, log = FakeTime(), RecordingLog()
    hook = SyncJobs(job("running", numSuccess=1))
    with pytest.raises(DeadlineReached) as caught:
        wait_for_job(hook, JOB, poll_interval=5.0, deadline=1_012.0, log=log, sleep=fake.sleep, clock=fake.clock)
    assert caught.value.job["numSuccess"] == 1
    assert fake.sleeps == [5.0, 5.0, 2.0] and hook.reads == 4  # the last sleep ends at the deadline


# -- async wait ------------------------------------------------------------------------------------------------


def run_async_wait(hook: AsyncJobs, fake: FakeTime, log: RecordingLog, **kwargs: Any) -> Job:
    kwargs.setdefault("poll_interval", 5.0)
    kwargs.setdefault("deadline", None)
    return asyncio.run(wait_for_job_async(hook, JOB, log=log, sleep=fake.asleep, clock=fake.clock, **kwargs))


def test_async_own_loop_matches_the_sync_wait() -> None:
    answers = (job("queued"), job("running", numSuccess=3), job("completed", numSuccess=9))
    sync_time, sync_log, async_time, async_log = FakeTime(), RecordingLog(), FakeTime(), RecordingLog()
    expected = wait_for_job(
        SyncJobs(*answers),
        JOB,
        poll_interval=5.0,
        deadline=None,
        log=sync_log,
        sleep=sync_time.sleep,
        clock=sync_time.clock,
    )
    hook = AsyncJobs(*answers)
    assert run_async_wait(hook, async_time, async_log) == expected
    assert async_log.infos == sync_log.infos and async_time.sleeps == sync_time.sleeps == [5.0, 5.0]
    assert hook.reads == 3


def test_async_own_loop_deadline_raises_deadline_reached() -> None:
    fake, log = FakeTime(), RecordingLog()
    hook = AsyncJobs(job("queued"), job("running", numPagesGenerated=2))
    with pytest.raises(DeadlineReached) as caught:
        run_async_wait(hook, fake, log, deadline=1_007.0)
    assert caught.value.job == job("running", numPagesGenerated=2)
    assert fake.sleeps == [5.0, 2.0] and hook.reads == 3 and len(log.infos) == 3


def test_async_own_loop_raises_what_the_read_raises() -> None:
    with pytest.raises(CeligoApiError, match="HTTP 503"):
        run_async_wait(AsyncJobs(job("running"), api_error()), FakeTime(), RecordingLog())
    with pytest.raises(InvalidJobDocument, match="unknown status"):
        run_async_wait(AsyncJobs(job("exploded")), FakeTime(), RecordingLog())


class FakeSource:
    """A ``next_document(timeout)`` that hands out scripted documents; None stands for a timeout."""

    def __init__(self, fake: FakeTime, *documents: Job | None, step: float = 5.0) -> None:
        self.fake = fake
        self.documents = list(documents)
        self.step = step
        self.timeouts: list[float | None] = []

    async def __call__(self, timeout: float | None = None) -> Job | None:
        self.timeouts.append(timeout)
        self.fake.now += self.step if timeout is None else min(self.step, max(0.0, timeout))
        return self.documents.pop(0)


def test_async_wait_takes_documents_from_a_source_without_reading_or_sleeping() -> None:
    fake, log = FakeTime(), RecordingLog()
    hook = AsyncJobs(job("failed"))  # never read: the source answers
    source = FakeSource(fake, job("queued"), job("running", numSuccess=2), job("completed", numSuccess=4))
    final = run_async_wait(hook, fake, log, next_document=source, deadline=1_100.0)
    assert final["status"] == "completed" and hook.reads == 0 and fake.sleeps == []
    assert source.timeouts == [100.0, 95.0, 90.0]  # the seconds left before the deadline at each call
    assert log.infos == [
        f"Celigo job {JOB}: queued, 0 ok / 0 errors / 0 ignored, 0 pages, 5s elapsed",
        f"Celigo job {JOB}: running, 2 ok / 0 errors / 0 ignored, 0 pages, 10s elapsed",
        f"Celigo job {JOB}: completed, 4 ok / 0 errors / 0 ignored, 0 pages, 15s elapsed",
    ]


def test_async_wait_reads_once_more_when_the_source_times_out_at_the_deadline() -> None:
    fake, log = FakeTime(), RecordingLog()
    source = FakeSource(fake, job("running"), None, step=5.0)
    with pytest.raises(DeadlineReached) as caught:
        run_async_wait(AsyncJobs(job("running", numSuccess=7)), fake, log, next_document=source, deadline=1_008.0)
    assert caught.value.job["numSuccess"] == 7  # the read made after the timeout
    assert source.timeouts == [8.0, 3.0]


def test_async_wait_source_timeout_with_a_job_that_just_ended_returns_it() -> None:
    fake, log = FakeTime(), RecordingLog()
    hook = AsyncJobs(job("completed", numSuccess=1))
    final = run_async_wait(hook, fake, log, next_document=FakeSource(fake, None), deadline=1_001.0)
    assert final["status"] == "completed" and hook.reads == 1


def test_async_wait_without_a_deadline_gives_the_source_no_timeout() -> None:
    fake = FakeTime()
    source = FakeSource(fake, job("running"), job("canceled"))
    assert run_async_wait(AsyncJobs(job("failed")), fake, RecordingLog(), next_document=source)["status"] == "canceled"
    assert source.timeouts == [None, None]


# -- cancel and confirm ------------------------------------------------------------------------------------------


def cancel_async(hook: AsyncJobs, fake: FakeTime, log: RecordingLog, **kwargs: Any) -> Job | None:
    return asyncio.run(cancel_and_confirm_async(hook, JOB, log=log, sleep=fake.asleep, clock=fake.clock, **kwargs))


def test_async_cancel_confirms_the_end() -> None:
    fake, log = FakeTime(), RecordingLog()
    hook = AsyncJobs(job("canceling"), job("canceling"), job("canceled"))
    final = cancel_async(hook, fake, log)
    assert final is not None and final["status"] == "canceled"
    assert hook.cancels == [JOB] and hook.reads == 3 and fake.sleeps == [1.0, 1.0]
    assert log.warnings == [f"Canceling Celigo job {JOB}"]
    assert log.infos[-1] == f"Celigo job {JOB} is canceled after the cancel request"


def test_async_cancel_gives_up_after_wait_seconds_with_the_last_document() -> None:
    fake, log = FakeTime(), RecordingLog()
    hook = AsyncJobs(job("canceling"))
    final = cancel_async(hook, fake, log, wait_seconds=2.5, poll_interval=1.0)
    assert final == job("canceling") and fake.sleeps == [1.0, 1.0, 0.5] and hook.reads == 4
    assert log.infos[-1] == f"Celigo job {JOB} is canceling after the cancel request"


def test_async_cancel_with_no_wait_reads_once() -> None:
    fake, log = FakeTime(), RecordingLog()
    hook = AsyncJobs(job("canceling"))
    assert cancel_async(hook, fake, log, wait_seconds=0) == job("canceling")
    assert hook.reads == 1 and fake.sleeps == []


def test_async_cancel_refused_still_reports_the_status() -> None:
    fake, log = FakeTime(), RecordingLog()
    refusal = CeligoApiError(status=422, method="PUT", path=f"/v1/jobs/{JOB}/cancel", message="already ended")
    hook = AsyncJobs(job("completed"), cancel_error=refusal)
    final = cancel_async(hook, fake, log)
    assert final is not None and final["status"] == "completed"
    assert any("Cancel request for Celigo job" in line and "HTTP 422" in line for line in log.warnings)


@pytest.mark.parametrize("failure", [api_error(), RuntimeError("connection pool closed")])
def test_async_cancel_never_raises_and_returns_none_when_the_job_is_unreadable(failure: Exception) -> None:
    fake, log = FakeTime(), RecordingLog()
    hook = AsyncJobs(failure, cancel_error=failure)
    assert cancel_async(hook, fake, log) is None
    assert hook.cancels == [JOB]
    assert any(line.startswith(f"Could not read Celigo job {JOB} after the cancel request") for line in log.warnings)


def test_async_cancel_is_bounded_by_wait_seconds_even_when_the_read_keeps_answering_active() -> None:
    fake, log = FakeTime(), RecordingLog()
    hook = AsyncJobs(job("running"))
    cancel_async(hook, fake, log, wait_seconds=5.0)
    assert sum(fake.sleeps) == 5.0


def test_sync_and_async_cancel_log_the_same_lines() -> None:
    answers = (job("canceling"), job("canceled"))
    sync_time, sync_log, async_time, async_log = FakeTime(), RecordingLog(), FakeTime(), RecordingLog()
    sync_final = cancel_and_confirm(SyncJobs(*answers), JOB, log=sync_log, sleep=sync_time.sleep, clock=sync_time.clock)
    async_final = cancel_async(AsyncJobs(*answers), async_time, async_log)
    assert sync_final == async_final == job("canceled")
    assert sync_log.infos == async_log.infos and sync_log.warnings == async_log.warnings
    assert sync_time.sleeps == async_time.sleeps == [1.0]


def test_sync_cancel_never_raises() -> None:
    fake, log = FakeTime(), RecordingLog()
    hook = SyncJobs(api_error(), cancel_error=api_error(500))
    assert cancel_and_confirm(hook, JOB, log=log, sleep=fake.sleep, clock=fake.clock) is None
    assert len(log.warnings) == 3  # canceling, cancel failed, could not read
