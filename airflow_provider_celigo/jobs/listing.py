"""One flow-job listing per Celigo connection and event loop, shared by every flow watcher in the process.

``CeligoFlowRunEventTrigger`` watches a flow for runs that anybody starts. A triggerer running 50 of them on
one connection would otherwise send 50 listings per poll interval; here they share one round: one
``GET /jobs?type=flow&_flowId_in[0]=..&_flowId_in[1]=..&createdAt_gte=<oldest horizon>`` per batch of up
to ``FLOWS_PER_QUERY`` flows (so 50 watchers cost one listing per round), each watcher receiving its own
flow's jobs. A full answer (1,000 jobs) is read back through ``createdAt_lte`` windows, up to ``MAX_PAGES``.

Use it from a coroutine::

    with watch_flow("celigo_default", flow_id, poll_interval=60, horizon=lambda: since) as watch:
        jobs = await watch.next_listing()

The listing starts with its first watcher and stops (closing its hook) when the last one leaves. A round
runs every ``min(poll_interval)`` of its watchers; a watcher that joins waits for the next round (the
first round waits ``GATHER_SECONDS`` for watchers started together). Calls go through the async hook, so
the connection's limiter caps them and its retry policy absorbs transient errors; a listing that still
fails is handed to the watchers of its batch as the exception. It shares ``poller``'s per-loop registry
(``PerLoop``), hook protocol and limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from airflow_provider_celigo.connection import DEFAULT_CONN_ID
from airflow_provider_celigo.jobs.poller import (
    FLOWS_PER_QUERY,
    GATHER_SECONDS,
    JOBS_PER_ANSWER,
    MAX_PAGES,
    HookFactory,
    JobReader,
    PerLoop,
)
from airflow_provider_celigo.jobs.status import iso_millis, parse_time

__all__ = ["FlowListing", "FlowWatch", "listing_for", "watch_flow"]

Job = dict[str, Any]
Horizon = Callable[[], "datetime | None"]
log = logging.getLogger(__name__)


class FlowWatch:
    """A watcher's handle on one flow: ``await next_listing()`` returns the flow's jobs of the next round."""

    def __init__(self, listing: FlowListing, flow_id: str, poll_interval: float, horizon: Horizon) -> None:
        self._listing = listing
        self.flow_id = flow_id
        self.poll_interval = poll_interval
        self.horizon = horizon
        self.closed = False
        #: The newest ``createdAt`` in the last listing of this watcher's batch (any flow of it), None if empty:
        #: integrator.io's time at that listing, at the latest; a job created later is created after it.
        self.listed_up_to: datetime | None = None
        self._results: asyncio.Queue[tuple[list[Job], datetime | None] | BaseException] = asyncio.Queue(maxsize=1)

    def deliver(self, item: list[Job] | BaseException, listed_up_to: datetime | None = None) -> None:
        """Hand a round's jobs of this flow (or the error of its listing) over; keeps only the newest."""
        if self._results.full():
            self._results.get_nowait()  # an unread older round says less than this one
        self._results.put_nowait(item if isinstance(item, BaseException) else (item, listed_up_to))

    async def next_listing(self) -> list[Job]:
        """Return the flow's flow jobs (created at or after the horizon) of the next round, newest first.

        Sets ``listed_up_to`` for that round. Raises the error of a listing that failed after the hook's
        retries (CeligoApiError, ...).
        """
        item = await self._results.get()
        if isinstance(item, BaseException):
            raise item
        jobs, self.listed_up_to = item
        return jobs

    def close(self) -> None:
        """Stop watching (idempotent); the listing stops when its last watcher has left."""
        if not self.closed:
            self.closed = True
            self._listing.remove(self)

    def __enter__(self) -> FlowWatch:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class FlowListing:
    """Lists the watched flows of one connection in rounds; use ``listing_for`` or ``watch_flow`` to get one."""

    def __init__(self, conn_id: str, hook_factory: HookFactory) -> None:
        self.conn_id = conn_id
        self._hook_factory = hook_factory
        self._hook: JobReader | None = None
        self._watches: list[FlowWatch] = []
        self._flows: dict[str, Job | None] = {}
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self.calls: Counter[str] = Counter()  # "listing", "rounds": what the listing spent

    @property
    def hook(self) -> JobReader:
        """The async hook the listing calls with (created on first use; closed when the listing stops)."""
        if self._hook is None:
            self._hook = self._hook_factory()
        return self._hook

    async def flow_document(self, flow_id: str) -> Job | None:
        """Return ``GET /flows/{id}`` (read once per listing and flow; None when it cannot be read)."""
        if flow_id not in self._flows:
            try:
                answer = await self.hook.request("GET", f"/flows/{flow_id}")  # type: ignore[attr-defined]
            except Exception as error:
                log.warning("Could not read Celigo flow %s (its runs count one job each): %s", flow_id, error)
                answer = None
            self._flows[flow_id] = answer if isinstance(answer, dict) else None
        return self._flows[flow_id]

    def watch(self, flow_id: str, poll_interval: float = 60.0, horizon: Horizon | None = None) -> FlowWatch:
        """Register a watcher of ``flow_id``; ``horizon()`` gives the oldest ``createdAt`` it needs (None: any)."""
        if not poll_interval > 0:
            raise ValueError("poll_interval must be > 0")
        watch = FlowWatch(self, flow_id, float(poll_interval), horizon or (lambda: None))
        self._watches.append(watch)
        self._changed.set()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"celigo-flow-listing-{self.conn_id}")
        return watch

    def remove(self, watch: FlowWatch) -> None:
        """Forget a watcher (``FlowWatch.close`` calls this)."""
        if watch in self._watches:
            self._watches.remove(watch)
            self._changed.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await asyncio.sleep(GATHER_SECONDS)  # let watchers started together share the first round
            while self._watches:
                self._changed.clear()
                started = loop.time()
                await self._round(list(self._watches))
                interval = min((watch.poll_interval for watch in self._watches), default=0.0)
                while self._watches and loop.time() - started < interval:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), interval - (loop.time() - started))
                    self._changed.clear()  # a watcher came or went: keep the cadence, re-read the interval
                    interval = min((watch.poll_interval for watch in self._watches), default=0.0)
        finally:
            self._task = None
            _listings.forget(loop, self.conn_id, self)
            hook, self._hook = self._hook, None
            if hook is not None:
                try:
                    await hook.aclose()
                except Exception as error:  # closing must not hide why the loop ended
                    log.debug("Closing the Celigo flow listing's hook failed: %s", error)

    async def _round(self, watches: list[FlowWatch]) -> None:
        """List every watched flow once (one call per batch of flows) and hand each watcher its flow's jobs."""
        self.calls["rounds"] += 1
        flows = sorted({watch.flow_id for watch in watches})
        for start in range(0, len(flows), FLOWS_PER_QUERY):
            batch = flows[start : start + FLOWS_PER_QUERY]
            members = [watch for watch in watches if watch.flow_id in batch]
            try:
                found = await self._list(batch, self._since(members))
            except Exception as error:
                log.warning("Celigo flow listing of %d flows failed: %s", len(batch), error)
                for watch in members:
                    watch.deliver(error)
                continue
            created = [moment for job in found if (moment := parse_time(job.get("createdAt")))]
            newest = max(created) if created else None
            for watch in members:
                watch.deliver([job for job in found if job.get("_flowId") == watch.flow_id], newest)

    @staticmethod
    def _since(watches: list[FlowWatch]) -> datetime | None:
        horizons = [watch.horizon() for watch in watches]
        if any(moment is None for moment in horizons):
            return None
        return min(moment for moment in horizons if moment is not None)

    async def _list(self, flows: list[str], since: datetime | None) -> list[Job]:
        params: dict[str, Any] = {"type": "flow", **{f"_flowId_in[{n}]": flow for n, flow in enumerate(flows)}}
        if since is not None:
            params["createdAt_gte"] = iso_millis(since)
        jobs: dict[str, Job] = {}
        for _ in range(MAX_PAGES):
            self.calls["listing"] += 1
            page: Any = await self.hook.list_jobs(**params)
            if not isinstance(page, list):
                raise TypeError(f"expected a JSON array of jobs, got {type(page).__name__}")
            for doc in page:
                if isinstance(doc, dict) and isinstance(doc.get("_id"), str):
                    jobs.setdefault(doc["_id"], doc)
            oldest = parse_time(page[-1].get("createdAt")) if page and isinstance(page[-1], dict) else None
            if len(page) < JOBS_PER_ANSWER or oldest is None:
                break
            params["createdAt_lte"] = iso_millis(oldest - timedelta(milliseconds=1))
        return list(jobs.values())


# -- one listing per (event loop, connection) ------------------------------------------------------------

_listings: PerLoop[FlowListing] = PerLoop(FlowListing)


def listing_for(conn_id: str = DEFAULT_CONN_ID, hook_factory: HookFactory | None = None) -> FlowListing:
    """Return the running event loop's flow listing for ``conn_id``, creating it if needed."""
    return _listings.get(conn_id, hook_factory)


def watch_flow(
    conn_id: str,
    flow_id: str,
    *,
    poll_interval: float = 60.0,
    horizon: Horizon | None = None,
    hook_factory: HookFactory | None = None,
) -> FlowWatch:
    """Start watching a flow's jobs through the shared listing of ``conn_id``; close the handle when done."""
    return listing_for(conn_id, hook_factory).watch(flow_id, poll_interval=poll_interval, horizon=horizon)
