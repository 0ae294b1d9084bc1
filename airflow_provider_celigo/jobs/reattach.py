"""Knowing which flow job is this task's run: after a lost answer to ``POST /run``, and on a retry after a crash.

A run is identified, not guessed. Before ``POST /run`` the operator asks integrator.io what time it is (the
``Date`` header of a cheap read, so machine clocks do not matter) and writes that moment to the task state
store (Airflow 3.3+) under ``celigo_flow_run``: ``{"flow_id", "requested_at", "clock": "integrator.io"}``;
once the answer arrives it adds ``job_id``. The job our request started was created at or after that moment,
and every job created before it is someone else's. So:

- a lost answer (dropped connection, timeout, 500/502/504 after integrator.io acted): the hook lists the
  flow's jobs created since the moment, in any status (a quick flow may have ended already), and adopts the
  one it finds instead of sending the request again; it sends again only when there is none;
- a retry whose record has a ``job_id`` reads that job; one without (the previous try died between the
  request and its answer) lists the flow's jobs since ``requested_at``, in any status, as above;
- a retry without a record never asked for a run: nothing to reattach to.

When two or more jobs were created since the moment (integrator.io's schedule or another DAG ran the flow at
the same time), the evidence cannot tell which one is ours: by default the task fails with
``CeligoRunUnclearError`` naming them (``on_unclear_run="fail"``), never silently starting a second run;
``"adopt_earliest"`` adopts the earliest, which is ours when our request came first.

Without a task state store (Airflow before 3.3, or a store that failed) there is no record: a retry takes the
newest flow job created since the DAG run started (minus a clock-skew margin, as that moment is Airflow's
clock), in any status. That job may belong to another DAG run that ran the same flow meanwhile.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, CeligoRunUnclearError
from airflow_provider_celigo.jobs.runs import of_source
from airflow_provider_celigo.jobs.status import iso_millis, parse_time

if TYPE_CHECKING:
    from airflow_provider_celigo.hooks.celigo import CeligoHook

__all__ = ["CLOCK_SKEW_MARGIN", "RUN_STATE_KEY", "RunLedger", "check_on_unclear", "choose_own_run", "previous_job"]

RUN_STATE_KEY = "celigo_flow_run"
SERVER_CLOCK = "integrator.io"
CLOCK_SKEW_MARGIN = timedelta(minutes=5)
ON_UNCLEAR_CHOICES = ("fail", "adopt_earliest")


def check_on_unclear(value: Any) -> str:
    """Return ``value`` if it is a known ``on_unclear_run`` choice; raises CeligoConfigError otherwise."""
    if value not in ON_UNCLEAR_CHOICES:
        raise CeligoConfigError(
            f"on_unclear_run is {value!r}; use 'fail' (the task fails and names the candidate jobs) or "
            "'adopt_earliest' (adopt the earliest job created after the run request)."
        )
    return str(value)


def choose_own_run(
    flow_id: str, jobs: list[dict[str, Any]], since: datetime, on_unclear: str = "fail", source: str | None = None
) -> dict[str, Any] | None:
    """Return the one flow job of ``jobs`` (of the first source ``source``, when given) created at or after
    ``since``, or None when there is none.

    Raises CeligoRunUnclearError when several qualify and ``on_unclear`` is ``"fail"``; with
    ``"adopt_earliest"`` returns the earliest of them.
    """
    candidates = []
    for job in jobs:
        created = parse_time(job.get("createdAt")) if isinstance(job, dict) else None
        if created is not None and created >= since and isinstance(job.get("_id"), str) and of_source(job, source):
            candidates.append((created, job))
    if not candidates:
        return None
    candidates.sort(key=lambda pair: pair[0])
    if len(candidates) == 1 or on_unclear == "adopt_earliest":
        return candidates[0][1]
    ids = [str(job["_id"]) for _, job in candidates]
    raise CeligoRunUnclearError(
        f"cannot tell which run of Celigo flow {flow_id} is this task's: {len(ids)} flow jobs were created after "
        f"its run request was sent at {iso_millis(since)} ({', '.join(ids)}), and the request's answer was lost. "
        "Nothing was started or adopted. Check these jobs in integrator.io; to adopt the earliest of them "
        "instead of failing, set on_unclear_run='adopt_earliest'.",
        flow_id,
        ids,
    )


class RunLedger:
    """The task state store entry of one task, tolerant of a missing or failing store."""

    def __init__(self, context: Any, log: logging.Logger | Any) -> None:
        self.store = context.get("task_state_store") if hasattr(context, "get") else None
        self.log = log
        if self.store is None:
            log.info("No task state store in this Airflow: a retry finds its job through the API instead")

    @property
    def available(self) -> bool:
        """True when the task state store can be used."""
        return self.store is not None

    def read(self) -> dict[str, Any] | None:
        """Return the stored record, or None when there is none (or the store failed, which is logged)."""
        if self.store is None:
            return None
        try:
            record = self.store.get(RUN_STATE_KEY)
        except Exception as error:
            self.log.warning("Could not read the task state store: %s", error)
            self.store = None
            return None
        return record if isinstance(record, dict) else None

    def write(self, record: dict[str, Any]) -> None:
        """Store ``record``; a failing store is logged and then ignored for the rest of the try."""
        if self.store is None:
            return
        try:
            self.store.set(RUN_STATE_KEY, record)
        except Exception as error:
            self.log.warning("Could not write the task state store (a retry will search the API): %s", error)
            self.store = None

    def note_request(self, flow_id: str, sent_after: datetime) -> dict[str, Any]:
        """Record that a run of ``flow_id`` is requested after ``sent_after`` (integrator.io's time); return it."""
        record = {"flow_id": flow_id, "requested_at": iso_millis(sent_after), "clock": SERVER_CLOCK}
        self.write(record)
        return record

    def note_job(self, record: dict[str, Any], job_id: str) -> None:
        """Add the started job's id to the record."""
        self.write({**record, "job_id": job_id})


def dag_run_began(context: Any) -> datetime | None:
    """Return when the DAG run started (the earliest moment a try of this task can have run), if known."""
    dag_run = context.get("dag_run") if hasattr(context, "get") else None
    moment = parse_time(getattr(dag_run, "start_date", None))
    if moment is None:
        moment = parse_time(getattr(context.get("ti"), "start_date", None)) if hasattr(context, "get") else None
    return moment


def previous_job(
    hook: CeligoHook,
    context: Any,
    ledger: RunLedger,
    flow_id: str,
    on_unclear: str = "fail",
    source: str | None = None,
) -> dict[str, Any] | None:
    """Return the first flow job of the run a previous try started for ``flow_id`` (of its first source
    ``source``, when the flow has several), or None.

    Raises CeligoRunUnclearError when several jobs could be that run (see the module docstring), and
    CeligoApiError when the API fails (other than a 404 for a stored job id, which means "none").
    """
    if ledger.available:
        record = ledger.read()
        if ledger.available:
            if record is None or record.get("flow_id") != flow_id:
                return None
            job_id = record.get("job_id")
            if isinstance(job_id, str) and job_id:
                try:
                    return hook.get_job(job_id)
                except CeligoApiError as error:
                    if error.status == 404:
                        return None
                    raise
            since = parse_time(record.get("requested_at"))
            if since is None:
                return None
            if record.get("clock") != SERVER_CLOCK:  # a record written by an older release, in Airflow's time
                since -= CLOCK_SKEW_MARGIN
            jobs = hook.find_flow_jobs(flow_id, created_after=since)
            return choose_own_run(flow_id, jobs, since, on_unclear, source=source)
    began = dag_run_began(context)
    if began is None:
        return None
    jobs = hook.find_flow_jobs(flow_id, created_after=began - CLOCK_SKEW_MARGIN)
    return next((job for job in jobs if of_source(job, source)), None)
