"""Waiting on a job from a worker: the poll loop, its one-line progress log, deadlines and cancel-and-confirm.

The trigger (``triggers/jobs.py``) runs the same loop with the async hook; both use ``progress_line``
and ``deadline_message`` from here so a task log reads the same in sync and deferrable mode.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_celigo.exceptions import CeligoConfigError, CeligoError, DeadlineReached
from airflow_provider_celigo.jobs.status import TERMINAL_STATUSES, count, job_status

if TYPE_CHECKING:
    from airflow_provider_celigo.hooks.celigo import CeligoHook

CANCEL_CONFIRM_SECONDS = 5.0
CANCEL_CONFIRM_POLL = 1.0


def progress_line(job: dict[str, Any], elapsed: float | None = None) -> str:
    """Return the one log line written per poll, e.g. ``Celigo job 66..: running, 120 ok / 0 errors / ...``."""
    line = (
        f"Celigo job {job.get('_id')}: {job.get('status')}, {count(job, 'numSuccess')} ok / "
        f"{count(job, 'numError')} errors / {count(job, 'numIgnore')} ignored, "
        f"{count(job, 'numPagesGenerated')} pages"
    )
    return line if elapsed is None else f"{line}, {elapsed:.0f}s elapsed"


def deadline_message(job_id: str, final_status: str | None, canceled: bool) -> str:
    """Return the message a task fails with when its deadline passes."""
    if canceled:
        status = f" (now {final_status})" if final_status and final_status != "canceled" else ""
        return f"Celigo job {job_id}: deadline reached, job canceled{status}"
    return f"Celigo job {job_id}: deadline reached while the job was still {final_status or 'active'}"


def positive_seconds(value: Any, what: str, *, allow_none: bool = False) -> float | None:
    """Return ``value`` (seconds or a timedelta) as a float > 0; raises CeligoConfigError otherwise."""
    if value is None and allow_none:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise CeligoConfigError(f"{what} is {value!r}; give a number of seconds greater than 0 (or a timedelta).")
    return float(seconds)


def deadline_after(*limits: float | None, now: float | None = None) -> float | None:
    """Return the absolute deadline (epoch seconds) of the shortest of ``limits`` from ``now``; None if none set."""
    given = [limit for limit in limits if limit is not None]
    if not given:
        return None
    return (time.time() if now is None else now) + min(given)


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


def wait_for_job(
    hook: CeligoHook,
    job_id: str,
    *,
    poll_interval: float,
    deadline: float | None,
    log: logging.Logger | Any,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Poll ``GET /jobs/{id}`` until the job ends, logging one line per poll; return the final job document.

    Raises DeadlineReached (carrying the last document) when ``deadline`` (epoch seconds) passes first,
    CeligoApiError when the API keeps failing, InvalidJobDocument for an unreadable job.
    """
    began = clock()
    while True:
        job = hook.get_job(job_id)
        status = job_status(job)
        log.info(progress_line(job, clock() - began))
        if status in TERMINAL_STATUSES:
            return job
        now = clock()
        if deadline is not None and now >= deadline:
            raise DeadlineReached(job)
        sleep(poll_interval if deadline is None else max(0.0, min(poll_interval, deadline - now)))


def cancel_and_confirm(
    hook: CeligoHook,
    job_id: str,
    *,
    log: logging.Logger | Any,
    wait_seconds: float = CANCEL_CONFIRM_SECONDS,
    poll_interval: float = CANCEL_CONFIRM_POLL,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any] | None:
    """Cancel a job, then poll for up to ``wait_seconds`` until it reports an end; return its last document.

    Best effort: an API error is logged as a warning and None returned (never raises CeligoError).
    """
    give_up = clock() + wait_seconds
    log.warning("Canceling Celigo job %s", job_id)
    try:
        hook.cancel_job(job_id)
    except CeligoError as error:
        # A job that ended meanwhile may refuse the cancel; its status below tells what happened.
        log.warning("Cancel request for Celigo job %s failed: %s", job_id, error)
    try:
        while True:
            job = hook.get_job(job_id)
            status = job.get("status") if isinstance(job, dict) else None
            if status in TERMINAL_STATUSES or clock() >= give_up:
                log.info("Celigo job %s is %s after the cancel request", job_id, status)
                return job
            sleep(poll_interval)
    except CeligoError as error:
        log.warning("Could not read Celigo job %s after the cancel request: %s", job_id, error)
        return None
