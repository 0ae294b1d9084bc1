"""Waiting on a job: the poll loop (sync and async), its one-line progress log, deadlines and cancel-and-confirm.

Workers use ``wait_for_job`` and ``cancel_and_confirm``; the trigger (``triggers/jobs.py``) and
``CeligoAsyncHook.wait_for_job`` use their async twins. Everything but the calls themselves (what a
poll logs, when a wait ends, how long to sleep) lives in the pure helpers below, so a task log reads
the same in sync and deferrable mode. The async wait takes its documents from a source: by default
one ``GET /jobs/{id}`` per interval, or the triggerer's shared poller (``JobWatch.next_document``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar, overload

from airflow_provider_celigo.exceptions import CeligoConfigError, DeadlineReached
from airflow_provider_celigo.jobs.status import TERMINAL_STATUSES, count, job_status

__all__ = [
    "CANCEL_CONFIRM_POLL",
    "CANCEL_CONFIRM_SECONDS",
    "DeadlineReached",
    "cancel_and_confirm",
    "cancel_and_confirm_async",
    "deadline_after",
    "deadline_message",
    "deadline_passed",
    "every_interval",
    "parse_deadline",
    "pause",
    "positive_seconds",
    "progress_line",
    "seconds_left",
    "wait_for_job",
    "wait_for_job_async",
    "wait_limits",
]

CANCEL_CONFIRM_SECONDS = 5.0
CANCEL_CONFIRM_POLL = 1.0

Job = dict[str, Any]
Log = Any  # a logging.Logger, or the structlog logger of an Airflow task or trigger
T = TypeVar("T")
NextDocument = Callable[[float | None], Awaitable[Job | None]]
"""``await next_document(timeout)``: the job's next document, waiting at most ``timeout`` seconds (None: no
limit); None when the timeout passed first."""


class JobCalls(Protocol):
    """The job calls the sync wait needs (``CeligoHook`` has them)."""

    def get_job(self, job_id: str) -> Job: ...

    def cancel_job(self, job_id: str) -> Any: ...


class AsyncJobCalls(Protocol):
    """The job calls the async wait needs (``CeligoAsyncHook`` has them)."""

    async def get_job(self, job_id: str) -> Job: ...

    async def cancel_job(self, job_id: str) -> Any: ...


# -- pure helpers, shared by the sync and async waits ----------------------------------------------------


def progress_line(job: dict[str, Any], elapsed: float | None = None) -> str:
    """Return the one log line written per poll, e.g. ``Celigo job 66..: running, 120 ok / 0 errors / ...``."""
    line = (
        f"Celigo job {job.get('_id')}: {job.get('status')}, {count(job, 'numSuccess')} ok / "
        f"{count(job, 'numError')} errors / {count(job, 'numIgnore')} ignored, "
        f"{count(job, 'numPagesGenerated')} pages"
    )
    sources = job.get("sources")
    if isinstance(sources, list):  # a run of several sources folded by jobs.runs.FlowRun.as_job
        parts = [
            f"source {n} job {part.get('job_id')} {part.get('status')} {part.get('num_success')} ok / "
            f"{part.get('num_error')} errors"
            for n, part in enumerate(sources, start=1)
            if isinstance(part, dict)
        ]
        expected = job.get("sourcesExpected", len(parts))
        line = f"{line} [{len(parts)} of {expected} sources: {'; '.join(parts)}]"
    return line if elapsed is None else f"{line}, {elapsed:.0f}s elapsed"


def deadline_message(job_id: str, final_status: str | None, canceled: bool) -> str:
    """Return the message a task fails with when its deadline passes."""
    if canceled:
        status = f" (now {final_status})" if final_status and final_status != "canceled" else ""
        return f"Celigo job {job_id}: deadline reached, job canceled{status}"
    return f"Celigo job {job_id}: deadline reached while the job was still {final_status or 'active'}"


@overload
def positive_seconds(value: Any, what: str) -> float: ...


@overload
def positive_seconds(value: Any, what: str, *, allow_none: bool) -> float | None: ...


def positive_seconds(value: Any, what: str, *, allow_none: bool = False) -> float | None:
    """Return ``value`` (seconds or a timedelta) as a finite float > 0 (None passes with ``allow_none``).

    Raises CeligoConfigError, naming ``what``, for anything else (0, negatives, ``inf``, ``nan``, strings, bools).
    """
    if value is None and allow_none:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    # nan fails both comparisons, so "0 < seconds < inf" refuses it as well as 0, negatives and inf
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < math.inf:
        raise CeligoConfigError(
            f"{what} is {value!r}; give a finite number of seconds greater than 0 (or a timedelta)."
        )
    return float(seconds)


def deadline_after(*limits: float | None, now: float | None = None) -> float | None:
    """Return the absolute deadline (epoch seconds) of the shortest of ``limits`` from ``now``; None if none set."""
    given = [limit for limit in limits if limit is not None]
    if not given:
        return None
    return (time.time() if now is None else now) + min(given)


def wait_limits(poll_interval: Any, timeout: Any) -> tuple[float, float | None]:
    """Return ``(poll_interval, deadline)`` for a wait of at most ``timeout`` seconds from now (None: no limit).

    Raises CeligoConfigError unless both are finite numbers of seconds > 0 (``timeout`` may be None).
    """
    interval = positive_seconds(poll_interval, "poll_interval")
    return interval, deadline_after(positive_seconds(timeout, "timeout", allow_none=True))


def parse_deadline(value: float | int | str | datetime | None) -> float | None:
    """Return a deadline as epoch seconds from epoch seconds, an ISO-8601 string or a datetime (naive = UTC).

    Raises CeligoConfigError for anything else.
    """
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise CeligoConfigError(f"deadline {value!r} is neither epoch seconds nor an ISO-8601 time") from None
    if not isinstance(moment, datetime):
        raise CeligoConfigError(f"deadline {value!r} is neither epoch seconds nor an ISO-8601 time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def seconds_left(deadline: float | None, now: float) -> float | None:
    """Return the seconds from ``now`` to ``deadline`` (negative once it passed); None without a deadline."""
    return None if deadline is None else deadline - now


def deadline_passed(deadline: float | None, now: float) -> bool:
    """Return True when there is a deadline and ``now`` is at or after it."""
    return deadline is not None and now >= deadline


def pause(poll_interval: float, left: float | None) -> float:
    """Return how long to sleep before the next poll: ``poll_interval``, cut short to the ``left`` seconds
    before the deadline (never below 0; None = no deadline)."""
    return poll_interval if left is None else max(0.0, min(poll_interval, left))


def _settled(job: Any, began: float, deadline: float | None, log: Log, clock: Callable[[], float]) -> bool:
    """Log one poll's progress line; return True when the job has ended or the deadline has passed.

    Raises InvalidJobDocument for an unreadable job.
    """
    status = job_status(job)
    log.info(progress_line(job, clock() - began))
    return status in TERMINAL_STATUSES or deadline_passed(deadline, clock())


def _ended_or_raise(job: Job) -> Job:
    """Return ``job`` when it has ended; raise DeadlineReached (carrying it) when it is still active."""
    if job_status(job) in TERMINAL_STATUSES:
        return job
    raise DeadlineReached(job)


def every_interval(
    read: Callable[[], Awaitable[T]],
    poll_interval: float,
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> Callable[[float | None], Awaitable[T]]:
    """Return a source of polled values: its first call returns ``await read()`` at once, each later call
    first sleeps ``poll_interval`` seconds, cut short to its ``timeout`` argument (seconds left before the
    deadline). It raises what ``read`` raises."""
    first = True

    async def next_value(timeout: float | None = None) -> T:
        nonlocal first
        if not first:
            await sleep(pause(poll_interval, timeout))
        first = False
        return await read()

    return next_value


@contextmanager
def _best_effort(log: Log, message: str, job_id: str) -> Iterator[None]:
    """Log an Exception raised in the block as a warning (``message`` % (job_id, error)) and swallow it."""
    try:
        yield
    except Exception as error:  # best effort: the caller goes on with what it has (asyncio.CancelledError passes)
        log.warning(message, job_id, error)


def _cancel_requested(log: Log, job_id: str, wait_seconds: float, clock: Callable[[], float]) -> float:
    """Log the cancel and return when its confirmation gives up (on ``clock``)."""
    log.warning("Canceling Celigo job %s", job_id)
    return clock() + wait_seconds


def _confirmed(log: Log, job_id: str, job: Job) -> Job:
    """Log the status a job has after the cancel request; return the job."""
    log.info("Celigo job %s is %s after the cancel request", job_id, job.get("status"))
    return job


_CANCEL_FAILED = "Cancel request for Celigo job %s failed: %s"
_READ_FAILED = "Could not read Celigo job %s after the cancel request: %s"


# -- sync ----------------------------------------------------------------------------------------------------


def _poll(
    hook: JobCalls,
    job_id: str,
    poll_interval: float,
    deadline: float | None,
    log: Log,
    sleep: Callable[[float], Any],
    clock: Callable[[], float],
) -> Job:
    """Return the first document read that has ended or was read at or after the deadline."""
    began = clock()
    while not _settled(job := hook.get_job(job_id), began, deadline, log, clock):
        sleep(pause(poll_interval, seconds_left(deadline, clock())))
    return job


def wait_for_job(
    hook: JobCalls,
    job_id: str,
    *,
    poll_interval: float,
    deadline: float | None,
    log: Log,
    sleep: Callable[[float], Any] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Poll ``GET /jobs/{id}`` until the job ends, logging one line per poll; return the final job document.

    Raises DeadlineReached (carrying the last document) when ``deadline`` (epoch seconds on ``clock``) passes
    first, CeligoApiError when the API keeps failing, InvalidJobDocument for an unreadable job.
    """
    return _ended_or_raise(_poll(hook, job_id, poll_interval, deadline, log, sleep, clock))


def cancel_and_confirm(
    hook: JobCalls,
    job_id: str,
    *,
    log: Log,
    wait_seconds: float = CANCEL_CONFIRM_SECONDS,
    poll_interval: float = CANCEL_CONFIRM_POLL,
    sleep: Callable[[float], Any] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any] | None:
    """Cancel a job, then poll for up to ``wait_seconds`` until it reports an end; return its last document.

    Best effort: a failing call is logged as a warning, never raised (CeligoError or otherwise); returns
    None when the job could not be read after the cancel request.
    """
    give_up = _cancel_requested(log, job_id, wait_seconds, clock)
    with _best_effort(log, _CANCEL_FAILED, job_id):
        # A job that ended meanwhile may refuse the cancel; its status below tells what happened.
        hook.cancel_job(job_id)
    with _best_effort(log, _READ_FAILED, job_id):
        job = _poll(hook, job_id, poll_interval, give_up, log, sleep, clock)
        return _confirmed(log, job_id, job)
    return None


# -- async ---------------------------------------------------------------------------------------------------


async def _poll_async(
    hook: AsyncJobCalls,
    job_id: str,
    poll_interval: float,
    deadline: float | None,
    log: Log,
    next_document: NextDocument | None,
    sleep: Callable[[float], Awaitable[Any]],
    clock: Callable[[], float],
) -> Job:
    """Return the first document that has ended or came at or after the deadline (see ``wait_for_job_async``)."""

    def read() -> Awaitable[Job]:
        return hook.get_job(job_id)

    source = next_document or every_interval(read, poll_interval, sleep=sleep)
    began = clock()
    while True:
        job = await source(seconds_left(deadline, clock()))
        if job is None:  # the source's timeout: the deadline came between two polls, so look once more
            job = await read()
        if _settled(job, began, deadline, log, clock):
            return job


async def wait_for_job_async(
    hook: AsyncJobCalls,
    job_id: str,
    *,
    poll_interval: float,
    deadline: float | None,
    log: Log,
    next_document: NextDocument | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """The async twin of ``wait_for_job``: same log lines, deadline and errors; returns the final job document.

    Documents come from ``next_document`` when given (e.g. the shared poller's ``JobWatch.next_document``,
    which sets its own pace), else from ``hook.get_job`` at once and then every ``poll_interval`` seconds.
    When ``next_document`` times out at the deadline, the job is read once more with ``hook.get_job``.
    Raises DeadlineReached (carrying the last document), CeligoApiError, InvalidJobDocument.
    """
    job = await _poll_async(hook, job_id, poll_interval, deadline, log, next_document, sleep, clock)
    return _ended_or_raise(job)


async def cancel_and_confirm_async(
    hook: AsyncJobCalls,
    job_id: str,
    *,
    log: Log,
    wait_seconds: float = CANCEL_CONFIRM_SECONDS,
    poll_interval: float = CANCEL_CONFIRM_POLL,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any] | None:
    """The async twin of ``cancel_and_confirm``: same log lines; never raises; None when the job is unreadable."""
    give_up = _cancel_requested(log, job_id, wait_seconds, clock)
    with _best_effort(log, _CANCEL_FAILED, job_id):
        await hook.cancel_job(job_id)
    with _best_effort(log, _READ_FAILED, job_id):
        job = await _poll_async(hook, job_id, poll_interval, give_up, log, None, sleep, clock)
        return _confirmed(log, job_id, job)
    return None
