"""``CeligoJobTrigger``: watch a flow run (one flow job per source) from the triggerer until it ends or its
deadline passes.

Events carry ``{"status", "job_id", "job_status", "summary", "message"}`` (``summary`` has ``job_ids``, every
flow job of the run) where ``status`` is

- ``success``: the job completed (the task applies its error policy to ``summary``);
- ``error``: the job failed, or the API kept failing (then ``job_status`` is None and the job may still run);
- ``canceled``: the job was canceled (by someone else);
- ``timeout``: the deadline passed; the job was canceled first unless ``cancel_on_deadline`` is False.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_celigo._validation import check_id
from airflow_provider_celigo.connection import DEFAULT_CONN_ID
from airflow_provider_celigo.jobs.runs import AsyncRunReader, FlowRun, of_source, run_summary
from airflow_provider_celigo.jobs.status import job_status, parse_time
from airflow_provider_celigo.jobs.wait import (
    DeadlineReached,
    cancel_and_confirm_async,
    deadline_message,
    deadline_passed,
    every_interval,
    parse_deadline,
    pause,
    positive_seconds,
    seconds_left,
    wait_for_job_async,
)

if TYPE_CHECKING:
    from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook

__all__ = ["CeligoJobTrigger"]

CLASSPATH = "airflow_provider_celigo.triggers.jobs.CeligoJobTrigger"
KILL_CANCEL_SECONDS = 15.0
_EVENT_STATUS = {"completed": "success", "failed": "error", "canceled": "canceled"}


class CeligoJobTrigger(BaseTrigger):
    """Poll a Celigo job with the async hook until it ends, then fire one event.

    :param job_id: the flow job to watch. When None, the trigger first waits for the newest flow job of
        ``flow_id`` created at or after ``created_after`` (a flow run started by integrator.io's schedule).
    :param flow_id: the job's flow (for messages, and to find the job when ``job_id`` is None).
    :param celigo_conn_id: the Celigo connection.
    :param poll_interval: seconds between polls (> 0).
    :param deadline: absolute deadline as epoch seconds or an ISO-8601 string; None = wait forever.
    :param cancel_on_deadline: cancel the job when the deadline passes (the task started it).
    :param cancel_on_kill: cancel the job when a user kills the deferred task.
    :param created_after: ISO-8601 time, only used to find the job when ``job_id`` is None.
    :param shared_poller: poll through the process's shared poller for the connection
        (``jobs/poller.py``: one ``GET /jobs`` per batch of flows per interval for every trigger in the
        triggerer) instead of one ``GET /jobs/{id}`` per trigger. Serialized only when False, so the
        kwargs of triggers deferred before the flag existed stay the same.
    :param sources: the export ids of the run's sources, in order, for a flow with several (``jobs.runs``):
        the trigger then waits for the flow job of each, with one listing of the flow's jobs per interval.
    :param parallel: the flow runs its sources at the same time.
    :param not_before: ISO-8601 integrator.io time before the run was requested (bounds the listing).
    """

    def __init__(
        self,
        job_id: str | None,
        flow_id: str | None = None,
        celigo_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 30.0,
        deadline: float | str | None = None,
        cancel_on_deadline: bool = True,
        cancel_on_kill: bool = True,
        created_after: str | None = None,
        shared_poller: bool = True,
        sources: list[str] | None = None,
        parallel: bool = False,
        not_before: str | None = None,
    ) -> None:
        super().__init__()
        if job_id is None and (flow_id is None or created_after is None):
            raise ValueError("CeligoJobTrigger needs a job_id, or a flow_id and created_after to find the job")
        self.job_id = check_id(job_id, "job id") if job_id is not None else None
        self.flow_id = check_id(flow_id, "flow id") if flow_id is not None else None
        self.celigo_conn_id = celigo_conn_id
        self.poll_interval = positive_seconds(poll_interval, "poll_interval")
        self.deadline = parse_deadline(deadline)
        self.cancel_on_deadline = cancel_on_deadline
        self.cancel_on_kill = cancel_on_kill
        self.created_after = created_after
        self.shared_poller = bool(shared_poller)
        self.sources = [check_id(source, "source export id") for source in sources or []]
        self.parallel = bool(parallel)
        self.not_before = not_before
        self._run: FlowRun | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the stable class path and the keyword arguments that rebuild this trigger."""
        kwargs: dict[str, Any] = {
            "job_id": self.job_id,
            "flow_id": self.flow_id,
            "celigo_conn_id": self.celigo_conn_id,
            "poll_interval": self.poll_interval,
            "deadline": self.deadline,
            "cancel_on_deadline": self.cancel_on_deadline,
            "cancel_on_kill": self.cancel_on_kill,
            "created_after": self.created_after,
        }
        if not self.shared_poller:
            kwargs["shared_poller"] = False
        if len(self.sources) > 1:  # only then: triggers of one-source runs keep their kwargs
            kwargs.update(sources=self.sources, parallel=self.parallel, not_before=self.not_before)
        return CLASSPATH, kwargs

    def _make_hook(self) -> CeligoAsyncHook:
        from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook

        return CeligoAsyncHook(self.celigo_conn_id)

    def _seconds_left(self) -> float | None:
        return seconds_left(self.deadline, time.time())

    async def _sleep(self) -> None:
        await asyncio.sleep(pause(self.poll_interval, self._seconds_left()))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the job ends or the deadline passes; yield one event (see the module docstring)."""
        hook = self._make_hook()
        try:
            event = await self._watch(hook)
        except Exception as error:  # the hook already retried transient failures; report the rest
            event = self._event("error", None, None, f"Celigo job {self.job_id}: watching failed: {error}")
        finally:
            await hook.aclose()
        yield TriggerEvent(event)

    async def _watch(self, hook: CeligoAsyncHook) -> dict[str, Any]:
        if self.job_id is None:
            found = await self._find_job(hook)
            if found is None:
                return self._event("timeout", None, None, f"no run of flow {self.flow_id} before the deadline")
        else:
            # The deferring task has just read the job, so the first look waits one interval. It also keeps a
            # job that ends at once from firing the event before the worker has reported the deferral, which
            # Airflow 3.3.2 can then mistake for a failed task (apache/airflow #66374).
            await self._sleep()
        job_id = str(self.job_id)
        try:
            job = await self._wait(hook, job_id)
        except DeadlineReached as reached:
            return await self._on_deadline(hook, reached.job)
        status = job_status(job)
        return self._event(_EVENT_STATUS[status], job, run_summary(job), f"Celigo job {job_id} {status}")

    def _reader(self, hook: CeligoAsyncHook) -> AsyncRunReader | None:
        """Return the reader of a run of several sources (None for a run of one job)."""
        if len(self.sources) <= 1 or self.job_id is None or self.flow_id is None:
            return None
        if self._run is None or self._run.first_job_id != self.job_id:
            self._run = FlowRun(
                flow_id=self.flow_id,
                first_job_id=self.job_id,
                sources=tuple(self.sources),
                parallel=self.parallel,
                not_before=parse_time(self.not_before),
            )
        return AsyncRunReader(hook, self._run)

    async def _wait(self, hook: CeligoAsyncHook, job_id: str) -> dict[str, Any]:
        """Return the job's final document, read by the shared poller or by this trigger's own polls.

        Raises DeadlineReached, or what reading the job raised.
        """
        from airflow_provider_celigo.jobs.poller import watch_job

        reader = self._reader(hook)
        if reader is not None:  # a run of several sources: its jobs come from listings of the flow's jobs
            return await self._wait_for_run(reader, job_id)
        watch = (
            watch_job(
                self.celigo_conn_id,
                job_id,
                flow_id=self.flow_id,
                poll_interval=self.poll_interval,
                hook_factory=self._make_hook,
            )
            if self.shared_poller
            else None
        )
        with watch if watch is not None else contextlib.nullcontext():
            return await wait_for_job_async(
                hook,
                job_id,
                poll_interval=self.poll_interval,
                deadline=self.deadline,
                log=self.log,
                next_document=watch.next_document if watch is not None else None,
            )

    async def _wait_for_run(self, reader: AsyncRunReader, job_id: str) -> dict[str, Any]:
        """Return the folded final document of a run of several sources, read from the connection's shared flow
        listing (one listing per round for every trigger of the process) or, without the shared poller, from
        this trigger's own listing every ``poll_interval``. Raises DeadlineReached."""
        from airflow_provider_celigo.jobs.listing import watch_flow

        if not self.shared_poller:
            return await wait_for_job_async(
                reader, job_id, poll_interval=self.poll_interval, deadline=self.deadline, log=self.log
            )
        with watch_flow(
            self.celigo_conn_id,
            reader.run.flow_id,
            poll_interval=self.poll_interval,
            horizon=reader.run.listing_since,
            hook_factory=self._make_hook,
        ) as flow_watch:
            reader.listing = flow_watch.next_listing
            return await wait_for_job_async(
                reader,
                job_id,
                poll_interval=self.poll_interval,
                deadline=self.deadline,
                log=self.log,
                next_document=reader.next_document,
            )

    async def _find_job(self, hook: CeligoAsyncHook) -> str | None:
        """Wait for the newest flow job created after ``created_after``; set and return its id (None at deadline)."""

        def listing() -> Awaitable[list[dict[str, Any]]]:
            return hook.list_jobs(_flowId=self.flow_id, type="flow", createdAt_gte=self.created_after)

        def firsts(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [job for job in jobs if of_source(job, self.sources[0] if self.sources else None)]

        next_listing = every_interval(listing, self.poll_interval)
        while not (jobs := firsts(await next_listing(self._seconds_left()))):
            self.log.info("No run of Celigo flow %s created after %s yet", self.flow_id, self.created_after)
            if deadline_passed(self.deadline, time.time()):
                return None
        self.job_id = check_id(jobs[0].get("_id"), "job id")
        self.log.info("Found Celigo job %s of flow %s", self.job_id, self.flow_id)
        return self.job_id

    async def _on_deadline(self, hook: CeligoAsyncHook, job: dict[str, Any]) -> dict[str, Any]:
        job_id = str(self.job_id)
        if not self.cancel_on_deadline:
            message = deadline_message(job_id, job.get("status"), canceled=False)
            return self._event("timeout", job, run_summary(job), message)
        calls = self._reader(hook) or hook
        final = await cancel_and_confirm_async(calls, job_id, log=self.log) or job
        return self._event("timeout", final, run_summary(final), deadline_message(job_id, final.get("status"), True))

    async def on_kill(self) -> None:
        """Cancel the job when a user kills the deferred task (bounded in time; errors are only logged)."""
        if not self.cancel_on_kill or self.job_id is None:
            return
        hook = self._make_hook()
        try:
            await asyncio.wait_for(
                cancel_and_confirm_async(self._reader(hook) or hook, self.job_id, log=self.log, wait_seconds=0),
                timeout=KILL_CANCEL_SECONDS,
            )
        except asyncio.TimeoutError:
            self.log.warning("Canceling Celigo job %s took longer than %ss", self.job_id, KILL_CANCEL_SECONDS)
        finally:
            await hook.aclose()

    def _event(
        self, status: str, job: dict[str, Any] | None, summary: dict[str, Any] | None, message: str
    ) -> dict[str, Any]:
        return {
            "status": status,
            "job_id": self.job_id,
            "job_status": job.get("status") if job else None,
            "summary": summary,
            "message": message,
        }
