"""``CeligoFlowRunEventTrigger``: an event per run of a flow, whoever started it, for ``AssetWatcher``.

integrator.io runs flows on its own schedule, when a person presses Run, when a chained flow's predecessor
completes, or because another DAG asked. This trigger watches the flow's jobs and fires one ``TriggerEvent``
per run that ended after the watcher started, so a DAG can be scheduled on "the flow delivered"::

    from airflow.sdk import DAG, Asset, AssetWatcher
    from airflow_provider_celigo.assets import celigo_flow_asset
    from airflow_provider_celigo.triggers.events import CeligoFlowRunEventTrigger

    orders = celigo_flow_asset(
        FLOW_ID,
        watchers=[AssetWatcher(name="orders_runs", trigger=CeligoFlowRunEventTrigger(flow_id=FLOW_ID))],
    )
    with DAG("after_orders_ran", schedule=[orders]):
        ...

A run of a flow with several sources is several flow jobs (one per source, created one after another);
the trigger groups them (``jobs.runs.FlowRun``) and fires once, when all of the run's jobs have ended,
with the run's summary as payload: ``flow_id``, ``job_ids``, ``status``, ``outcome`` and the counts. Runs
whose status is not in ``statuses`` are passed over. The polls of every watcher on one connection share one
listing per round (``jobs.listing``), under the connection's cap.

"Ended after the watcher started" is judged by integrator.io's own records, never by comparing clocks: the
watcher's first listing is its baseline (runs ended by then are not reported; runs still going then are).

**Never twice for one run.** The trigger keeps a cursor (whether it took its baseline, the oldest job
creation it still needs, and the job ids of the runs already handled) and reads it back when it starts again.
- Airflow 3.3+: the cursor lives in the asset state store of the watched asset (key
  ``celigo_flow_runs:<flow id>``), written after each event is handed to the triggerer. A triggerer
  restart then neither repeats a run nor misses one that ended while it was down. The one window left is a
  triggerer killed in the instant between handing an event over and the store write: that run fires again.
- Airflow 3.0-3.2 have no asset state store: the cursor is kept in memory only, so after a restart the
  trigger starts watching afresh. No run fires twice, but runs that ended while the triggerer was down are
  not reported.
A trigger shared by several assets (the same trigger arguments in two assets) keeps its cursor in memory
too, with a warning: the store is per asset.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_celigo._validation import check_id
from airflow_provider_celigo.connection import DEFAULT_CONN_ID
from airflow_provider_celigo.exceptions import CeligoConfigError
from airflow_provider_celigo.jobs.runs import FlowRun
from airflow_provider_celigo.jobs.status import KNOWN_STATUSES, TERMINAL_STATUSES, iso_millis, normal_status, parse_time

__all__ = ["CeligoFlowRunEventTrigger", "RunCursor"]

log = logging.getLogger(__name__)

CURSOR_KEY = "celigo_flow_runs"
#: Job ids of handled runs kept in the cursor (far more than one listing window holds).
MAX_REMEMBERED = 2000
#: Listings to wait, once every job of a run has ended, for a source whose job never appeared.
QUIET_ROUNDS = 2
Job = dict[str, Any]


class RunCursor:
    """Which runs of a flow were handled: the pure part of the trigger (no I/O), kept across restarts.

    Only integrator.io's own times are compared, never this machine's clock. The first listing after the
    watcher starts is its baseline: runs that have ended by then are marked handled without being reported;
    runs still going then, and every run after, are reported when they end.

    :param horizon: the oldest ``createdAt`` a listing must still include (None: the first listing, no bound).
    :param handled: job ids of the runs already reported or passed over.
    :param baselined: whether the first listing was taken in (False for a watcher that never listed).
    """

    def __init__(self, horizon: datetime | None = None, handled: Iterable[str] = (), baselined: bool = False) -> None:
        self.horizon = horizon
        self.handled: dict[str, None] = dict.fromkeys(handled)
        self.baselined = baselined
        self._quiet: dict[str, int] = {}
        self._pending: dict[str, datetime] = {}  # runs returned but not yet marked handled: their creation

    @classmethod
    def load(cls, stored: Any) -> RunCursor:
        """Return the cursor a store held (a fresh one when it held nothing usable)."""
        if isinstance(stored, dict) and stored.get("baselined") is True:
            handled = [job_id for job_id in stored.get("handled") or [] if isinstance(job_id, str)]
            return cls(parse_time(stored.get("horizon")), handled, baselined=True)
        return cls()

    def dump(self) -> dict[str, Any]:
        """Return the cursor as JSON for the store."""
        moments = [moment for moment in (self.horizon, *self._pending.values()) if moment is not None]
        return {
            "baselined": self.baselined,
            "horizon": iso_millis(min(moments)) if moments else None,
            "handled": list(self.handled)[-MAX_REMEMBERED:],
        }

    def ended_runs(
        self, flow: Job | None, flow_id: str, jobs: Iterable[Job], listed_up_to: datetime | None = None
    ) -> list[FlowRun]:
        """Return, oldest first, the runs of ``jobs`` (the flow's flow jobs of one listing) that have ended and
        were not handled yet; moves the horizon past what no run needs any more (``listed_up_to``: the newest
        ``createdAt`` of the whole listing, other flows' jobs included, which bounds a flow that never ran).

        The caller marks each returned run with ``mark_handled`` once it has dealt with it (until then
        ``dump`` keeps the run inside the horizon). On the baseline listing, ended runs are marked here.
        """
        fresh = [
            doc
            for doc in jobs
            if isinstance(doc, dict) and isinstance(doc.get("_id"), str) and doc["_id"] not in self.handled
        ]
        fresh.sort(key=lambda doc: (doc.get("createdAt") or "", doc["_id"]))  # ISO times sort in time order
        document = {**(flow or {}), "_id": flow_id}
        runs: list[FlowRun] = []
        taken: set[str] = set()
        for doc in fresh:
            if doc["_id"] in taken:
                continue
            run = FlowRun.of_flow(document, doc["_id"])
            run.learn([other for other in fresh if other["_id"] not in taken])
            taken.update(run.job_ids)
            runs.append(run)
        baseline, self.baselined = not self.baselined, True
        finished: list[FlowRun] = []
        open_created: list[datetime] = []
        for run in runs:
            created = parse_time((run.first or {}).get("createdAt"))
            if baseline and run.has_ended():
                self.mark_handled(run)  # ended before the watcher's first look
                continue
            if not self._is_over(run):
                if created is not None:
                    open_created.append(created)
                continue
            if created is not None:
                self._pending[run.first_job_id] = created
            finished.append(run)
        seen = [moment for doc in fresh if (moment := parse_time(doc.get("createdAt")))]
        if open_created:
            self.horizon = max([moment for moment in (self.horizon,) if moment] + [min(open_created)])
        elif seen or listed_up_to:
            # Nothing open: a later run's jobs are created after the newest job seen, of any flow listed.
            self.horizon = max([moment for moment in (self.horizon, listed_up_to) if moment] + seen)
        return finished

    def mark_handled(self, run: FlowRun) -> None:
        """Remember a run as handled (reported or passed over): it is never returned again."""
        self.handled.update(dict.fromkeys(run.job_ids))
        self._quiet.pop(run.first_job_id, None)
        self._pending.pop(run.first_job_id, None)

    def _is_over(self, run: FlowRun) -> bool:
        if not run.has_ended():
            return False
        if not run.missing_sources():
            return True
        # Every job seen has ended but a source has no job: give integrator.io a few listings to create it.
        polls = self._quiet.get(run.first_job_id, 0) + 1
        self._quiet[run.first_job_id] = polls
        return polls > QUIET_ROUNDS


def run_payload(run: FlowRun) -> dict[str, Any]:
    """Return the event payload of an ended run: its summary with every flow job id."""
    summary = run.summary()
    return {
        "flow_id": run.flow_id,
        "job_ids": summary["job_ids"],
        "status": summary["status"],
        "outcome": summary["outcome"],
        "num_success": summary["num_success"],
        "num_error": summary["num_error"],
        "num_ignore": summary["num_ignore"],
        "started_at": summary["started_at"],
        "ended_at": summary["ended_at"],
    }


def _check_statuses(statuses: Any) -> tuple[str, ...]:
    items = [statuses] if isinstance(statuses, str) else list(statuses or [])
    chosen = tuple(dict.fromkeys(normal_status(item) for item in items))
    wrong = [status for status in chosen if status not in TERMINAL_STATUSES]
    if not chosen or wrong:
        raise CeligoConfigError(
            f"statuses is {statuses!r}; give one or more of {sorted(TERMINAL_STATUSES)} (the statuses a run "
            f"ends in; {sorted(KNOWN_STATUSES - TERMINAL_STATUSES)} are not ends)."
        )
    return chosen


class CeligoFlowRunEventTrigger(BaseEventTrigger):
    """Fire one event per run of an integrator.io flow that ended after the watcher started.

    :param flow_id: the flow to watch.
    :param celigo_conn_id: the Celigo connection (default ``celigo_default``).
    :param poll_interval: seconds between listings (> 0, default 60); watchers of one connection share them.
    :param statuses: the run statuses to report (default ``("completed",)``; also ``failed``, ``canceled``).
    """

    def __init__(
        self,
        *,
        flow_id: str,
        celigo_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = 60.0,
        statuses: Sequence[str] = ("completed",),
    ) -> None:
        super().__init__()
        self.flow_id = check_id(flow_id, "flow_id")
        self.celigo_conn_id = celigo_conn_id
        if isinstance(poll_interval, bool) or not isinstance(poll_interval, (int, float)) or not poll_interval > 0:
            raise CeligoConfigError(f"poll_interval is {poll_interval!r}; give a number of seconds > 0.")
        self.poll_interval = float(poll_interval)
        self.statuses = _check_statuses(statuses)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the (deterministic) keyword arguments that rebuild the trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "flow_id": self.flow_id,
                "celigo_conn_id": self.celigo_conn_id,
                "poll_interval": self.poll_interval,
                "statuses": list(self.statuses),
            },
        )

    @property
    def _store_key(self) -> str:
        return f"{CURSOR_KEY}:{self.flow_id}"

    def _store(self) -> Any:
        """Return the asset state store accessor the cursor lives in, or None (Airflow < 3.3, several assets)."""
        store = getattr(self, "asset_state_store", None)
        if store is None:
            return None
        try:
            store._single_accessor()  # raises ValueError when the trigger watches several assets
        except ValueError:
            log.warning(
                "CeligoFlowRunEventTrigger for flow %s watches several assets; its cursor is kept in memory only "
                "(give each asset its own trigger arguments, e.g. another poll_interval, to keep it across restarts)",
                self.flow_id,
            )
            return None
        except AttributeError:
            pass  # another accessor type: use its aget/aset as they are
        return store

    async def _load(self, store: Any) -> RunCursor:
        if store is None:
            return RunCursor()
        try:
            return RunCursor.load(await store.aget(self._store_key))
        except Exception as error:
            log.warning("Could not read the cursor of flow %s from the asset state store: %s", self.flow_id, error)
            return RunCursor()

    async def _save(self, store: Any, cursor: RunCursor) -> None:
        if store is None:
            return
        try:
            await store.aset(self._store_key, cursor.dump())
        except Exception as error:
            log.warning("Could not write the cursor of flow %s to the asset state store: %s", self.flow_id, error)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll the flow's jobs through the connection's shared listing; yield one event per ended run."""
        from airflow_provider_celigo.jobs.listing import listing_for

        store = self._store()
        cursor = await self._load(store)
        listing = listing_for(self.celigo_conn_id)
        flow = await listing.flow_document(self.flow_id)
        with listing.watch(self.flow_id, poll_interval=self.poll_interval, horizon=lambda: cursor.horizon) as watch:
            while True:
                try:
                    jobs = await watch.next_listing()
                except Exception as error:  # the listing failed after the hook's retries: try the next round
                    log.warning("Listing the jobs of Celigo flow %s failed: %s", self.flow_id, error)
                    continue
                before = cursor.dump()
                for run in cursor.ended_runs(flow, self.flow_id, jobs, watch.listed_up_to):
                    payload = run_payload(run)
                    try:
                        if payload["status"] in self.statuses:
                            log.info(
                                "Celigo flow %s: run %s ended %s", self.flow_id, payload["job_ids"], payload["status"]
                            )
                            yield TriggerEvent(payload)
                    finally:  # also when the triggerer closes the trigger right after taking the event
                        cursor.mark_handled(run)
                        await self._save(store, cursor)  # after the event was handed over: see the docstring
                if cursor.dump() != before:
                    await self._save(store, cursor)
