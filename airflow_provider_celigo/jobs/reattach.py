"""Finding the job a previous try of the same task started, so that a retry reattaches instead of running twice.

Two sources, in this order:

1. Airflow 3.3's task state store (``context["task_state_store"]``), which survives retries. Before
   ``POST /run`` the operator writes ``{"flow_id", "requested_at"}`` under ``celigo_flow_run``; right
   after, it adds ``job_id``. On a retry:

   - a record with a ``job_id`` names the job directly;
   - a record without one means the previous try died between the request and saving its answer: the
     newest active job of the flow created since ``requested_at`` (minus a clock-skew margin) is adopted;
   - no record means the previous try never asked for a run: nothing to reattach to.

2. Without a state store (Airflow before 3.3, or a store that failed): the newest queued or running job
   of the flow created since the DAG run started (minus the same margin). The DAG run's start is the
   earliest moment any try of this task can have started a job, and integrator.io runs one instance of a
   flow at a time, so an active job found there is almost always the one the previous try started.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_celigo.exceptions import CeligoApiError
from airflow_provider_celigo.jobs.status import parse_time

if TYPE_CHECKING:
    from airflow_provider_celigo.hooks.celigo import CeligoHook

RUN_STATE_KEY = "celigo_flow_run"
CLOCK_SKEW_MARGIN = timedelta(minutes=5)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


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

    def note_request(self, flow_id: str) -> dict[str, Any]:
        """Record that a run of ``flow_id`` is about to be requested; return the record."""
        record = {"flow_id": flow_id, "requested_at": _utcnow().isoformat()}
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


def previous_job(hook: CeligoHook, context: Any, ledger: RunLedger, flow_id: str) -> dict[str, Any] | None:
    """Return the job document of the run a previous try started for ``flow_id``, or None.

    Raises CeligoApiError when the API fails (other than a 404 for a stored job id, which means "none").
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
            return _newest_active(hook, flow_id, since - CLOCK_SKEW_MARGIN if since else None)
    since = dag_run_began(context)
    return _newest_active(hook, flow_id, since - CLOCK_SKEW_MARGIN if since else None)


def _newest_active(hook: CeligoHook, flow_id: str, created_after: datetime | None) -> dict[str, Any] | None:
    jobs = hook.find_active_flow_jobs(flow_id, created_after=created_after)
    return jobs[0] if jobs else None
