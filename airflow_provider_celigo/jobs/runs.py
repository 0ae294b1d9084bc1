"""A flow run as integrator.io records it: one flow job per source (page generator).

A flow with N sources makes N flow jobs for one run, each carrying its source's ``_exportId``. By default
they come one after another, each created as the previous source's export ends (so they overlap while the
previous source's imports finish); with ``runPageGeneratorsInParallel`` on the flow they are all created at
once. ``POST /flows/{id}/run`` answers only the first job's id. ``FlowRun`` finds the others in a listing of
the flow's jobs, tells when the whole run has ended, and folds the jobs into one document, so the waits,
the deadline, cancel and the error policy in ``jobs/wait.py`` and ``jobs/policy.py`` work on a run exactly
as on one job.

Which job of source k belongs to this run: two runs of the same flow and source never overlap (the second
waits for the first), so this run's job of source k is the earliest one created while this run's job of
source k-1 ran (sequential runs: after it started, before it ended), or within a minute of this run's first
job (parallel runs). Another run's job of source k was created before that window, a later run's after it.
The real records of multi-source flows (``tests/fixtures/real-flow-jobs.json``) follow these rules.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from airflow_provider_celigo.jobs.status import (
    ACTIVE_STATUSES,
    COUNTERS,
    TERMINAL_STATUSES,
    count,
    iso_millis,
    job_status,
    parse_time,
    summarize,
)

__all__ = [
    "AsyncRunReader",
    "FlowRun",
    "RunReader",
    "first_source",
    "flow_sources",
    "job_ids_of",
    "run_summary",
    "runs_in_parallel",
]

Job = dict[str, Any]
PARALLEL_FIELD = "runPageGeneratorsInParallel"
SOURCES_KEY = "sources"  # the per-source breakdown in a run's folded document
# A parallel run's jobs are created together, but not necessarily in source order within the same instant.
PARALLEL_SLACK = timedelta(seconds=1)
PARALLEL_WINDOW = timedelta(minutes=1)


def flow_sources(flow: Any, export_ids: Iterable[str] | None = None) -> tuple[str, ...]:
    """Return the export ids of a flow document's sources in run order (only those in ``export_ids`` if given).

    A flow without ``pageGenerators`` (older documents name one ``_exportId``) has that one source; a flow
    with none gives ``()``, which ``FlowRun`` treats as a run of one job.
    """
    generators = flow.get("pageGenerators") if isinstance(flow, dict) else None
    ids = [
        generator["_exportId"]
        for generator in generators or []
        if isinstance(generator, dict) and isinstance(generator.get("_exportId"), str)
    ]
    if not ids and isinstance(flow, dict) and isinstance(flow.get("_exportId"), str):
        ids = [flow["_exportId"]]
    chosen = list(export_ids or [])
    if chosen:
        ids = [export_id for export_id in ids if export_id in chosen] or chosen
    return tuple(dict.fromkeys(ids))


def runs_in_parallel(flow: Any) -> bool:
    """Return True when the flow document asks integrator.io to run its sources at the same time."""
    return isinstance(flow, dict) and flow.get(PARALLEL_FIELD) is True


def first_source(flow: Any, export_ids: Iterable[str] | None = None) -> str | None:
    """Return the export id of the source whose job ``POST /run`` answers with (None when unknown)."""
    sources = flow_sources(flow, export_ids)
    return sources[0] if sources else None


def of_source(job: Any, source: str | None) -> bool:
    """True when ``job`` is a flow job of the source ``source`` (any job when ``source`` is None).

    A run of a flow with several sources makes one flow job per source, each with its ``_exportId``; the run
    is known by its first source's job. A job that names no source counts for any.
    """
    export_id = job.get("_exportId") if isinstance(job, dict) else None
    return source is None or export_id is None or export_id == source


@dataclass
class FlowRun:
    """The flow jobs of one run of a flow, as far as they are known; ``learn`` feeds it documents.

    :param flow_id: the flow.
    :param first_job_id: the job ``POST /run`` answered with (or the one adopted for this run).
    :param sources: the export ids of the sources this run runs, in order (``flow_sources``); one or none
        means a run of one job, watched with ``GET /jobs/{id}`` alone.
    :param parallel: the flow runs its sources at the same time.
    :param not_before: integrator.io's time before the run was requested: no job of it is older.
    """

    flow_id: str
    first_job_id: str
    sources: tuple[str, ...] = ()
    parallel: bool = False
    not_before: datetime | None = None
    jobs: dict[str, Job] = field(default_factory=dict)  # source export id -> the latest document of its job

    @classmethod
    def of_flow(
        cls,
        flow: Any,
        first_job_id: str,
        *,
        export_ids: Iterable[str] | None = None,
        not_before: datetime | None = None,
    ) -> FlowRun:
        """Return the run of ``flow`` (a flow document) whose first job is ``first_job_id``."""
        return cls(
            flow_id=str(flow.get("_id")) if isinstance(flow, dict) else "",
            first_job_id=first_job_id,
            sources=flow_sources(flow, export_ids),
            parallel=runs_in_parallel(flow),
            not_before=not_before,
        )

    # -- what is known ----------------------------------------------------------------------------------

    @property
    def single(self) -> bool:
        """True for a run of one job (one source, or sources unknown)."""
        return len(self.sources) <= 1

    def ordered(self) -> list[Job]:
        """Return the known jobs, the first job first, then in source order."""
        first = [doc for doc in self.jobs.values() if doc.get("_id") == self.first_job_id]
        rest = [self.jobs[source] for source in self.sources if source in self.jobs]
        return first + [doc for doc in rest if doc.get("_id") != self.first_job_id]

    @property
    def job_ids(self) -> list[str]:
        """Return the ids of the run's known jobs (the first job's id first, even before it was read)."""
        ids = [str(doc["_id"]) for doc in self.ordered()]
        return ids if ids else [self.first_job_id]

    def missing_sources(self) -> list[str]:
        """Return the sources of this run that have no job yet."""
        return [source for source in self.sources if source not in self.jobs] if not self.single else []

    def listing_since(self) -> datetime | None:
        """Return the ``createdAt_gte`` bound of a listing that holds every job of this run."""
        first = self.first
        created = parse_time(first.get("createdAt")) if first else None
        moments = [moment for moment in (created and created - PARALLEL_SLACK, self.not_before) if moment]
        return min(moments) if moments else None

    # -- learning ---------------------------------------------------------------------------------------

    def learn(self, docs: Iterable[Any]) -> None:
        """Take in job documents (``GET /jobs/{id}`` or a listing of the flow's flow jobs).

        Refreshes the jobs already known and adopts, for each source without one, this run's job of that
        source (see the module docstring). Raises InvalidJobDocument for a known job read without a status.
        """
        by_id = {doc["_id"]: doc for doc in docs if isinstance(doc, dict) and isinstance(doc.get("_id"), str)}
        for source, doc in list(self.jobs.items()):
            if doc["_id"] in by_id:
                self.jobs[source] = by_id[doc["_id"]]
        first = by_id.get(self.first_job_id)
        if first is not None and self.first is None:
            self.jobs[self._source_of(first)] = first
        if self.first is not None and not self.single:
            self._adopt_members(by_id.values())
        for doc in self.jobs.values():
            job_status(doc)

    @property
    def first(self) -> Job | None:
        """Return the latest document of the run's first job, None before it was read."""
        return next((doc for doc in self.jobs.values() if doc.get("_id") == self.first_job_id), None)

    def _source_of(self, first: Job) -> str:
        export_id = first.get("_exportId")
        if isinstance(export_id, str) and (export_id in self.sources or not self.sources):
            return export_id
        return self.sources[0] if self.sources else ""

    def _adopt_members(self, docs: Iterable[Job]) -> None:
        taken = {doc["_id"] for doc in self.jobs.values()}
        pool = [doc for doc in docs if doc["_id"] not in taken and doc.get("type") in (None, "flow")]
        for index, source in enumerate(self.sources):
            if source in self.jobs:
                continue
            window = self._window(index)
            if window is None:
                continue
            after, before = window
            candidates = [
                (created, doc)
                for doc in pool
                if doc.get("_exportId") == source
                and (created := parse_time(doc.get("createdAt")))
                and after <= created
                and (before is None or created <= before)
            ]
            if candidates:
                self.jobs[source] = min(candidates, key=lambda pair: pair[0])[1]

    def _window(self, index: int) -> tuple[datetime, datetime | None] | None:
        """Return when this run's job of source ``index`` is created: (at or after, at or before; None = open).

        None while that cannot be known yet (sequential runs: the previous source's job is still queued).
        """
        first = self.first
        created = parse_time(first.get("createdAt")) if first else None
        if created is None:
            return None
        if self.parallel:
            after = max(moment for moment in (created - PARALLEL_SLACK, self.not_before) if moment)
            return after, created + PARALLEL_WINDOW
        previous = next((self.jobs[s] for s in reversed(self.sources[:index]) if s in self.jobs), None)
        if previous is None:
            return created, None
        started = parse_time(previous.get("startedAt"))
        return (started, parse_time(previous.get("endedAt"))) if started else None

    # -- the run as a whole -----------------------------------------------------------------------------

    @staticmethod
    def _ended(doc: Job) -> bool:
        return job_status(doc) in TERMINAL_STATUSES

    def has_ended(self) -> bool:
        """True when every job of the run seen so far has ended.

        No further job is to come then: a source's job is created when the previous source's export ends,
        before the previous job itself ends (or, in parallel runs, with the first job), so a listing that shows
        every job ended and a source without one means that source was not run (canceled, failed, or left out).
        """
        return self.first is not None and all(self._ended(doc) for doc in self.jobs.values())

    def status(self) -> str:
        """Return the run's status: active (queued/running) until it has ended, then the worst of its jobs."""
        statuses = [job_status(doc) for doc in self.jobs.values()]
        if not self.has_ended():
            if statuses and all(status == "queued" for status in statuses):
                return "queued"
            return next((s for s in statuses if s in ACTIVE_STATUSES - {"queued"}), "running")
        for worst in ("failed", "canceled"):
            if worst in statuses:
                return worst
        return "completed"

    def as_job(self) -> Job:
        """Return the run folded into one flow job document: the first job's id, the worst status, the summed
        counters, the earliest start and the latest end, and a per-source breakdown under ``sources``.

        Raises InvalidJobDocument before the first job was read.
        """
        docs = self.ordered()
        if not docs or docs[0].get("_id") != self.first_job_id:
            from airflow_provider_celigo.exceptions import InvalidJobDocument

            raise InvalidJobDocument(f"job {self.first_job_id!r} of flow {self.flow_id} has not been read yet")
        first = docs[0]
        if self.single:
            return first
        starts = [moment for doc in docs if (moment := parse_time(doc.get("startedAt")))]
        ends = [moment for doc in docs if (moment := parse_time(doc.get("endedAt")))]
        folded: Job = {
            "_id": self.first_job_id,
            "type": "flow",
            "_flowId": first.get("_flowId", self.flow_id),
            "_integrationId": first.get("_integrationId"),
            "status": self.status(),
            "createdAt": first.get("createdAt"),
            **{name: sum(count(doc, name) for doc in docs) for name in COUNTERS},
            SOURCES_KEY: [self._source_line(doc) for doc in docs],
            "sourcesExpected": len(self.sources),
            "_jobIds": [str(doc["_id"]) for doc in docs],
        }
        if starts:
            folded["startedAt"] = iso_millis(min(starts))
        if ends and self.has_ended():
            folded["endedAt"] = iso_millis(max(ends))
        return folded

    def _source_line(self, doc: Job) -> dict[str, Any]:
        return {
            "export_id": doc.get("_exportId"),
            "job_id": doc.get("_id"),
            "status": doc.get("status"),
            "num_success": count(doc, "numSuccess"),
            "num_error": count(doc, "numError"),
        }

    def summary(self) -> dict[str, Any]:
        """Return ``run_summary`` of the folded run."""
        return run_summary(self.as_job())

    def to_kwargs(self) -> dict[str, Any]:
        """Return what rebuilds this run elsewhere (a trigger): JSON-friendly, without the documents."""
        return {
            "sources": list(self.sources),
            "parallel": self.parallel,
            "not_before": iso_millis(self.not_before) if self.not_before else None,
        }


def job_ids_of(job: Job) -> list[str]:
    """Return the flow job ids a (possibly folded) job document stands for."""
    ids = job.get("_jobIds")
    if isinstance(ids, list) and all(isinstance(i, str) for i in ids) and ids:
        return list(ids)
    return [str(job.get("_id"))]


def run_summary(job: Job) -> dict[str, Any]:
    """Return ``jobs.status.summarize`` of a (possibly folded) job plus ``job_ids``: every flow job of the run.

    Raises InvalidJobDocument for a document without an id or a known status.
    """
    return {**summarize(job), "job_ids": job_ids_of(job)}


# -- readers: a run seen through the one-job calls the waits use -------------------------------------------


class FlowJobCalls(Protocol):
    """The calls ``RunReader`` needs (``CeligoHook`` has them)."""

    def get_job(self, job_id: str) -> Job: ...

    def cancel_job(self, job_id: str) -> Any: ...

    def find_flow_jobs(self, flow_id: str, created_after: datetime | None = None) -> list[Job]: ...


class AsyncFlowJobCalls(Protocol):
    """The calls ``AsyncRunReader`` needs (``CeligoAsyncHook`` has them)."""

    async def get_job(self, job_id: str) -> Job: ...

    async def cancel_job(self, job_id: str) -> Any: ...

    async def list_jobs(self, **filters: Any) -> list[Job]: ...


def _first_read(doc: Any) -> Job:
    """Return the document read for a run's first job; raises InvalidJobDocument unless it is a job document
    with an id and a known status."""
    job_status(doc)
    if not isinstance(doc.get("_id"), str) or not doc["_id"]:
        from airflow_provider_celigo.exceptions import InvalidJobDocument

        raise InvalidJobDocument(f"job document has no '_id': {sorted(doc)[:12]}")
    return dict(doc)


def _listing_filters(run: FlowRun) -> dict[str, Any]:
    since = run.listing_since()
    filters: dict[str, Any] = {"_flowId": run.flow_id, "type": "flow"}
    if since is not None:
        filters["createdAt_gte"] = iso_millis(since)
    return filters


class RunReader:
    """A run behind the ``get_job``/``cancel_job`` calls of ``jobs.wait``: reading the first job's id returns
    the folded run, canceling it cancels every job of the run that has not ended.

    A run of one job costs one ``GET /jobs/{id}`` per read; a run of several, one listing of the flow's jobs.
    """

    def __init__(self, hook: FlowJobCalls, run: FlowRun) -> None:
        self.hook = hook
        self.run = run

    def refresh(self) -> FlowRun:
        """Read the run's jobs once (the first job alone until it is known); return the run."""
        run = self.run
        if run.single or run.first is None:
            run.learn([_first_read(self.hook.get_job(run.first_job_id))])
        if not run.single:
            run.learn(self.hook.find_flow_jobs(run.flow_id, created_after=run.listing_since()))
        return run

    def get_job(self, job_id: str) -> Job:
        """Return the folded run (``job_id`` is the run's first job id)."""
        return self.refresh().as_job()

    def cancel_job(self, job_id: str) -> list[Any]:
        """Cancel every job of the run that has not ended; return their answers. Raises what the last cancel
        raised after trying all of them."""
        self.refresh()
        answers: list[Any] = []
        failure: Exception | None = None
        for doc in self.run.ordered():
            if not self.run._ended(doc):
                try:
                    answers.append(self.hook.cancel_job(str(doc["_id"])))
                except Exception as error:  # try the others first
                    failure = error
        if failure is not None:
            raise failure
        return answers


class AsyncRunReader:
    """The async twin of ``RunReader`` (``CeligoAsyncHook``), for triggers.

    ``listing`` replaces the reader's own listing of the flow's jobs, e.g. a round of the connection's shared
    flow listing (``jobs.listing.FlowWatch.next_listing``), so that many runs cost one listing per round.
    """

    def __init__(
        self, hook: AsyncFlowJobCalls, run: FlowRun, listing: Callable[[], Awaitable[list[Job]]] | None = None
    ) -> None:
        self.hook = hook
        self.run = run
        self.listing = listing

    async def refresh(self) -> FlowRun:
        """Read the run's jobs once (the first job alone until it is known); return the run."""
        run = self.run
        if run.single or run.first is None:
            run.learn([_first_read(await self.hook.get_job(run.first_job_id))])
        if not run.single:
            run.learn(await (self.listing() if self.listing else self.hook.list_jobs(**_listing_filters(run))))
        return run

    async def next_document(self, timeout: float | None) -> Job | None:
        """Return the folded run after the next read, or None when ``timeout`` seconds pass first (the
        ``next_document`` source of ``jobs.wait.wait_for_job_async``, for a reader paced by its ``listing``)."""
        try:
            return await asyncio.wait_for(self.get_job(self.run.first_job_id), timeout)
        except asyncio.TimeoutError:
            return None

    async def get_job(self, job_id: str) -> Job:
        """Return the folded run."""
        return (await self.refresh()).as_job()

    async def cancel_job(self, job_id: str) -> list[Any]:
        """Cancel every job of the run that has not ended; return their answers."""
        await self.refresh()
        answers: list[Any] = []
        failure: Exception | None = None
        for doc in self.run.ordered():
            if not self.run._ended(doc):
                try:
                    answers.append(await self.hook.cancel_job(str(doc["_id"])))
                except Exception as error:
                    failure = error
        if failure is not None:
            raise failure
        return answers
