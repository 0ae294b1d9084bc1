"""One job poller per Celigo connection and event loop, shared by every job watcher in the process.

A triggerer running 1,000 ``CeligoJobTrigger`` watchers would otherwise send 1,000 ``GET /jobs/{id}``
per poll interval. The shared poller answers them with one
``GET /jobs?type=flow&_flowId_in[0]=..&_flowId_in[1]=..&createdAt_gte=<oldest watched job>`` per batch of
up to ``FLOWS_PER_QUERY`` flows, so the calls per interval grow with the number of flows watched, not
with the number of waiting tasks. A job the batched answer does not hold (a step or retry job, a job
older than the 1,000 newest of its batch, a failed query) is read alone with ``GET /jobs/{id}``, and so
is a batch holding a single job, where the listing would cost as much.

Use it from a coroutine::

    with watch_job("celigo_default", job_id, flow_id=flow_id, poll_interval=30) as watch:
        job = await watch.wait_until_ended()

The poller starts with its first watcher and stops (closing its hook) when the last one leaves; a
watcher that is cancelled leaves on its way out of the ``with`` block. Calls go through the async
hook, so the connection's limiter caps them and its retry policy absorbs transient errors; a read
that still fails is raised in the watchers of that job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

from airflow_provider_celigo.connection import DEFAULT_CONN_ID
from airflow_provider_celigo.jobs.status import TERMINAL_STATUSES, iso_millis, normal_status, parse_time

__all__ = [
    "FLOWS_PER_QUERY",
    "GATHER_SECONDS",
    "JOBS_PER_ANSWER",
    "MAX_PAGES",
    "HookFactory",
    "JobPoller",
    "JobReader",
    "PerLoop",
    "plan_round",
    "poller_for",
    "watch_job",
]

FLOWS_PER_QUERY = 50  # keeps the query string near 2.5 KB, far below common URL limits
JOBS_PER_ANSWER = 1000  # integrator.io returns at most this many jobs per GET /jobs
MAX_PAGES = 5  # createdAt_lte windows read back per batch before falling back to single reads
GATHER_SECONDS = 0.05  # how long a new watcher waits for others to join its first round
SLACK_SHARE = 0.2  # a job due within this share of its interval (at most MAX_SLACK) joins the round
MAX_SLACK = 2.0

Job = dict[str, Any]
log = logging.getLogger(__name__)


class JobReader(Protocol):
    """What the poller needs from a hook (``CeligoAsyncHook`` has it)."""

    async def get_job(self, job_id: str) -> Job: ...

    async def list_jobs(self, **filters: Any) -> list[Job]: ...

    async def aclose(self) -> None: ...


HookFactory = Callable[[], JobReader]
Shared = TypeVar("Shared")


def _has_ended(doc: Job) -> bool:
    return normal_status(doc.get("status")) in TERMINAL_STATUSES


class JobWatch:
    """A watcher's handle on one job: ``await next_document()`` for each poll, ``latest`` for the last seen."""

    __slots__ = ("_pending", "_poller", "_waiter", "closed", "flow_id", "job_id", "latest", "poll_interval")

    def __init__(self, poller: JobPoller, job_id: str, flow_id: str | None, poll_interval: float) -> None:
        self._poller = poller
        self.job_id = job_id
        self.flow_id = flow_id
        self.poll_interval = poll_interval
        self.latest: Job | None = None
        self.closed = False
        self._pending: Job | BaseException | None = None
        self._waiter: asyncio.Future[Job] | None = None

    def deliver(self, item: Job | BaseException) -> None:
        """Hand the result of a poll (a job document or the error reading it) to the watcher."""
        if isinstance(item, dict):
            self.latest = item
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            if isinstance(item, BaseException):
                waiter.set_exception(item)
            else:
                waiter.set_result(item)
        else:
            self._pending = item

    async def next_document(self, timeout: float | None = None) -> Job | None:
        """Return the job's next polled document, or None when ``timeout`` seconds pass first.

        Once the job has ended, returns its final document at once. Raises the error of a read that
        failed after the hook's retries (CeligoApiError, ...).
        """
        if self._pending is None and self.latest is not None and _has_ended(self.latest):
            return self.latest
        if self._pending is not None:
            item, self._pending = self._pending, None
            if isinstance(item, BaseException):
                raise item
            return item
        waiter: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            if timeout is None:
                return await waiter
            return await asyncio.wait_for(waiter, max(0.0, timeout))
        except asyncio.TimeoutError:
            return None
        finally:
            if self._waiter is waiter:
                self._waiter = None

    async def wait_until_ended(self) -> Job:
        """Return the job's terminal document (completed, failed or canceled); raises what a read raised."""
        while True:
            doc = await self.next_document()
            if doc is not None and _has_ended(doc):
                return doc

    def close(self) -> None:
        """Stop watching (idempotent); the poller stops when its last watcher has left."""
        if not self.closed:
            self.closed = True
            self._poller.remove(self)

    def __enter__(self) -> JobWatch:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Tracked:
    """The poller's state for one job id, whoever watches it."""

    __slots__ = (
        "created_at",
        "direct",
        "due_at",
        "ended",
        "flow_id",
        "job_id",
        "last",
        "polled",
        "reading",
        "watches",
    )

    def __init__(self, job_id: str, flow_id: str | None) -> None:
        self.job_id = job_id
        self.flow_id = flow_id
        self.created_at: datetime | None = None
        self.direct = flow_id is None  # read with GET /jobs/{id} instead of a batched listing
        self.due_at = 0.0
        self.ended = False
        self.polled = False
        self.reading: asyncio.Task[None] | None = None  # the read under way: not due again until it answers
        self.last: Job | None = None
        self.watches: list[JobWatch] = []

    @property
    def poll_interval(self) -> float:
        return min(watch.poll_interval for watch in self.watches) if self.watches else 0.0

    def learn(self, doc: Job) -> None:
        """Note what a document tells about the job: its flow, creation time, and whether it ended."""
        self.created_at = parse_time(doc.get("createdAt")) or self.created_at
        flow_id = doc.get("_flowId")
        if doc.get("type") == "flow" and isinstance(flow_id, str) and flow_id:
            self.flow_id, self.direct = flow_id, False
        elif doc.get("type") not in (None, "flow"):
            self.direct = True  # a step or retry job: the flow listing does not hold it
        self.ended = _has_ended(doc)
        self.last = doc


def plan_round(
    due: list[_Tracked], flows_per_query: int = FLOWS_PER_QUERY
) -> tuple[list[list[_Tracked]], list[_Tracked]]:
    """Split the due jobs into batches for one listing each (by flow) and jobs to read one by one."""
    by_flow: dict[str, list[_Tracked]] = {}
    singles: list[_Tracked] = []
    for tracked in due:
        if tracked.direct or tracked.flow_id is None:
            singles.append(tracked)
        else:
            by_flow.setdefault(tracked.flow_id, []).append(tracked)
    flows = sorted(by_flow)
    batches: list[list[_Tracked]] = []
    for start in range(0, len(flows), flows_per_query):
        batch = [tracked for flow in flows[start : start + flows_per_query] for tracked in by_flow[flow]]
        if len(batch) > 1:
            batches.append(batch)
        else:
            singles.extend(batch)  # one job: GET /jobs/{id} costs the same and is exact
    return batches, singles


class JobPoller:
    """Polls every watched job of one connection in rounds; use ``poller_for`` or ``watch_job`` to get one."""

    def __init__(self, conn_id: str, hook_factory: HookFactory) -> None:
        self.conn_id = conn_id
        self._hook_factory = hook_factory
        self._hook: JobReader | None = None
        self._jobs: dict[str, _Tracked] = {}
        self._task: asyncio.Task[None] | None = None
        self._reads: set[asyncio.Task[None]] = set()
        self._wakeup = asyncio.Event()
        self.calls: Counter[str] = Counter()  # "listing", "single", "rounds": what the poller spent

    @property
    def watching(self) -> int:
        """Return how many jobs are being watched."""
        return len(self._jobs)

    def watch(self, job_id: str, flow_id: str | None = None, poll_interval: float = 30.0) -> JobWatch:
        """Register a watcher of ``job_id`` (of flow ``flow_id``, when known) and return its handle."""
        if not poll_interval > 0:
            raise ValueError("poll_interval must be > 0")
        watch = JobWatch(self, job_id, flow_id, float(poll_interval))
        tracked = self._jobs.get(job_id)
        if tracked is None:
            tracked = self._jobs[job_id] = _Tracked(job_id, flow_id)
            tracked.due_at = asyncio.get_running_loop().time()
        tracked.watches.append(watch)
        if tracked.ended and tracked.last is not None:
            watch.deliver(tracked.last)  # ended jobs are no longer polled: hand over the final document
        self._wakeup.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"celigo-job-poller-{self.conn_id}")
        return watch

    def remove(self, watch: JobWatch) -> None:
        """Forget a watcher (``JobWatch.close`` calls this)."""
        tracked = self._jobs.get(watch.job_id)
        if tracked is None or watch not in tracked.watches:
            return
        tracked.watches.remove(watch)
        if not tracked.watches:
            del self._jobs[watch.job_id]
        if not self._jobs:
            self._wakeup.set()

    # -- the poll loop ------------------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._jobs:
                if any(not tracked.polled and not tracked.reading for tracked in self._jobs.values()):
                    await asyncio.sleep(GATHER_SECONDS)  # let watchers started together share a round
                self._wakeup.clear()  # before looking: a watcher or an answer arriving from here on wakes the sleep
                now = loop.time()
                idle = [tracked for tracked in self._jobs.values() if not tracked.ended and not tracked.reading]
                due = [tracked for tracked in idle if tracked.due_at <= now + self._slack(tracked)]
                if not due:
                    if not self._jobs:
                        break
                    waits = [tracked.due_at - self._slack(tracked) - now for tracked in idle]
                    await self._sleep(min(waits) if waits else None)
                    continue
                for tracked in due:
                    tracked.due_at = now + tracked.poll_interval
                self._poll_round(due)
        finally:
            self._task = None
            for read in list(self._reads):  # the last watcher left: answers nobody waits for
                read.cancel()
            if self._reads:
                await asyncio.gather(*self._reads, return_exceptions=True)
            _pollers.forget(loop, self.conn_id, self)
            hook, self._hook = self._hook, None
            if hook is not None:
                try:
                    await hook.aclose()
                except Exception as error:  # closing must not hide why the loop ended
                    log.debug("Closing the Celigo job poller's hook failed: %s", error)

    @staticmethod
    def _slack(tracked: _Tracked) -> float:
        return min(MAX_SLACK, SLACK_SHARE * tracked.poll_interval)

    async def _sleep(self, seconds: float | None) -> None:
        """Sleep until ``seconds`` pass or a watcher arrives or leaves."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)

    def _poll_round(self, due: list[_Tracked]) -> None:
        """Start one read per batch and per single job, each its own task: a slow read delays only its jobs."""
        self.calls["rounds"] += 1
        try:
            hook = self._get_hook()
            batches, singles = plan_round(due)
        except Exception as error:  # a bug or a broken hook: tell the watchers instead of hanging them
            log.exception("Celigo job poll round failed")
            for tracked in due:
                self._deliver(tracked, error)
            return
        for batch in batches:
            self._start(self._poll_batch(hook, batch), batch)
        for tracked in singles:
            self._start(self._poll_single(hook, tracked), [tracked])

    def _start(self, read: Coroutine[Any, Any, None], jobs: list[_Tracked]) -> None:
        task = asyncio.get_running_loop().create_task(read)
        self._reads.add(task)
        for tracked in jobs:
            tracked.reading = task

        def done(finished: asyncio.Task[None]) -> None:
            self._reads.discard(finished)
            error = None if finished.cancelled() else finished.exception()
            for tracked in jobs:
                # Still this read's (a delivered job may already be in its next read): it ended without
                # delivering, a bug; never leave a watcher hanging.
                if tracked.reading is finished:
                    self._deliver(tracked, error or RuntimeError("the Celigo job read ended without an answer"))

        task.add_done_callback(done)

    def _get_hook(self) -> JobReader:
        if self._hook is None:
            self._hook = self._hook_factory()
        return self._hook

    async def _poll_single(self, hook: JobReader, tracked: _Tracked) -> None:
        self.calls["single"] += 1
        try:
            doc: Any = await hook.get_job(tracked.job_id)
        except Exception as error:
            self._deliver(tracked, error)
            return
        self._deliver(tracked, doc)

    async def _poll_batch(self, hook: JobReader, batch: list[_Tracked]) -> None:
        wanted = {tracked.job_id: tracked for tracked in batch}
        try:
            found = await self._list_batch(hook, batch, set(wanted))
        except Exception as error:
            log.warning("Celigo job listing failed (%s); reading its %d jobs one by one", error, len(batch))
            found = {}
        for job_id, doc in found.items():
            self._deliver(wanted[job_id], doc)
        missing = [tracked for job_id, tracked in wanted.items() if job_id not in found]
        await asyncio.gather(*(self._poll_single(hook, tracked) for tracked in missing))

    async def _list_batch(self, hook: JobReader, batch: list[_Tracked], wanted: set[str]) -> dict[str, Job]:
        """Return the wanted jobs found by listing the batch's flows, newest first, paging back if needed."""
        flows = sorted({str(tracked.flow_id) for tracked in batch})
        params: dict[str, Any] = {"type": "flow", **{f"_flowId_in[{n}]": flow for n, flow in enumerate(flows)}}
        created = [tracked.created_at for tracked in batch]
        if all(moment is not None for moment in created):
            params["createdAt_gte"] = iso_millis(min(moment for moment in created if moment is not None))
        found: dict[str, Job] = {}
        for _ in range(MAX_PAGES):
            self.calls["listing"] += 1
            page: Any = await hook.list_jobs(**params)
            if not isinstance(page, list):
                raise TypeError(f"expected a JSON array of jobs, got {type(page).__name__}")
            for doc in page:
                if isinstance(doc, dict) and doc.get("_id") in wanted:
                    found[doc["_id"]] = doc
            oldest = parse_time(page[-1].get("createdAt")) if page and isinstance(page[-1], dict) else None
            if len(page) < JOBS_PER_ANSWER or len(found) == len(wanted) or oldest is None:
                break
            params["createdAt_lte"] = iso_millis(oldest - timedelta(milliseconds=1))
        return found

    def _deliver(self, tracked: _Tracked, item: Any) -> None:
        tracked.reading = None
        self._wakeup.set()  # the loop may have slept while every job was being read
        if isinstance(item, dict):
            tracked.learn(item)
        elif not isinstance(item, BaseException):
            item = TypeError(f"expected a job document (a JSON object), got {type(item).__name__}")
        tracked.polled = True
        for watch in list(tracked.watches):
            watch.deliver(item)


# -- one poller per (event loop, connection) -----------------------------------------------------------------


def _default_factory(conn_id: str) -> HookFactory:
    def make() -> JobReader:
        from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook

        return CeligoAsyncHook(conn_id)

    return make


class PerLoop(Generic[Shared]):
    """One shared object per (running event loop, connection id), made on first use, forgotten when it stops.

    Holds the job pollers here and the flow listings of ``jobs/listing.py``; thread-safe, and a loop that is
    garbage-collected takes its objects with it.
    """

    def __init__(self, make: Callable[[str, HookFactory], Shared]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Shared]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, conn_id: str, hook_factory: HookFactory | None = None) -> Shared:
        """Return the running loop's object for ``conn_id``, making it (with ``hook_factory``) if needed."""
        loop = asyncio.get_running_loop()
        with self._lock:
            per_loop = self._by_loop.setdefault(loop, {})
            shared = per_loop.get(conn_id)
            if shared is None:
                shared = per_loop[conn_id] = self._make(conn_id, hook_factory or _default_factory(conn_id))
            return shared

    def forget(self, loop: asyncio.AbstractEventLoop, conn_id: str, shared: Shared) -> None:
        """Drop ``shared`` (when it is still the one held for ``conn_id`` on ``loop``)."""
        with self._lock:
            per_loop = self._by_loop.get(loop)
            if per_loop is not None and per_loop.get(conn_id) is shared:
                del per_loop[conn_id]


_pollers: PerLoop[JobPoller] = PerLoop(JobPoller)


def poller_for(conn_id: str = DEFAULT_CONN_ID, hook_factory: HookFactory | None = None) -> JobPoller:
    """Return the running event loop's poller for ``conn_id``, creating it (with ``hook_factory``) if needed."""
    return _pollers.get(conn_id, hook_factory)


def watch_job(
    conn_id: str,
    job_id: str,
    *,
    flow_id: str | None = None,
    poll_interval: float = 30.0,
    hook_factory: HookFactory | None = None,
) -> JobWatch:
    """Start watching a job through the shared poller of ``conn_id``; close the handle (or use ``with``) when done."""
    return poller_for(conn_id, hook_factory).watch(job_id, flow_id=flow_id, poll_interval=poll_interval)
