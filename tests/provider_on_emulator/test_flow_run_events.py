"""CeligoFlowRunEventTrigger against the emulator: one event per run, whoever started it; a restart with the
stored cursor repeats nothing; many watchers share one listing per round."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from figures import record

from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.jobs.listing import listing_for
from airflow_provider_celigo.testing import running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer
from airflow_provider_celigo.triggers.events import CeligoFlowRunEventTrigger

FLOW = DEMO_IDS["flow_orders"]
WATCHERS = 50


class MemoryStore:
    """Stands in for Airflow 3.3's asset state store accessor of one asset (aget/aset)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes = 0

    def _single_accessor(self) -> MemoryStore:
        return self

    async def aget(self, key: str, default: Any = None) -> Any:
        return json.loads(self.values[key]) if key in self.values else default

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = json.dumps(value)
        self.writes += 1


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with running_emulator(seed="demo", clock_speed=50.0) as server:
        extra = {"base_url": server.base_url, "max_retries": 1, "max_retry_wait": 0.2}
        monkeypatch.setenv(
            "AIRFLOW_CONN_CELIGO_DEFAULT", json.dumps({"conn_type": "celigo", "password": server.token, "extra": extra})
        )
        yield server


def make_trigger(store: MemoryStore | None, flow_id: str = FLOW, **kwargs: Any) -> CeligoFlowRunEventTrigger:
    trigger = CeligoFlowRunEventTrigger(flow_id=flow_id, poll_interval=kwargs.pop("poll_interval", 0.3), **kwargs)
    trigger.asset_state_store = store  # what the triggerer injects on Airflow 3.3
    return trigger


async def take(events: AsyncIterator[Any], count: int, timeout: float) -> list[dict[str, Any]]:
    return [(await asyncio.wait_for(events.__anext__(), timeout)).payload for _ in range(count)]


async def nothing_more(events: AsyncIterator[Any], seconds: float) -> bool:
    try:
        await asyncio.wait_for(events.__anext__(), seconds)
    except asyncio.TimeoutError:
        return True
    return False


def run_to_end(flow_id: str = FLOW) -> str:
    hook = CeligoHook()
    job_id = hook.run_flow(flow_id)
    hook.wait_for_job(job_id, poll_interval=0.2, timeout=60)
    return job_id


def test_one_event_per_run_and_none_repeated_after_a_restart(emulator: EmulatorServer) -> None:
    store = MemoryStore()
    before = run_to_end()  # ended before the watcher started: not reported

    async def scenario() -> tuple[list[dict[str, Any]], list[str], bool, list[dict[str, Any]], list[str], bool]:
        events = make_trigger(store).run()
        first_poll = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(1.0)  # the watcher is running and has listed once
        ran = [await asyncio.to_thread(run_to_end), await asyncio.to_thread(run_to_end)]
        got = [(await asyncio.wait_for(first_poll, 30)).payload, *await take(events, 1, 30)]
        quiet = await nothing_more(events, 1.5)
        await events.aclose()  # the triggerer stops (restart)
        later = await asyncio.to_thread(run_to_end)  # ends while no watcher runs
        restarted = make_trigger(store).run()
        again = await take(restarted, 1, 30)
        quiet_again = await nothing_more(restarted, 1.5)
        await restarted.aclose()
        return got, ran, quiet, again, [later], quiet_again

    got, ran, quiet, again, later, quiet_again = asyncio.run(scenario())
    assert [event["job_ids"] for event in got] == [[job_id] for job_id in ran]
    assert before not in {job for event in got + again for job in event["job_ids"]}
    assert all(event["status"] == "completed" and event["num_success"] > 0 for event in got)
    assert quiet, "a run fired twice"
    assert [event["job_ids"] for event in again] == [later], "the restarted watcher missed or repeated a run"
    assert quiet_again
    assert emulator.token not in json.dumps(got + again)


def test_failed_runs_are_reported_only_when_asked(emulator: EmulatorServer) -> None:
    refunds = DEMO_IDS["flow_refunds"]

    async def scenario() -> tuple[list[dict[str, Any]], bool]:
        failed_only = make_trigger(MemoryStore(), refunds, statuses=("failed",)).run()
        completed_only = make_trigger(MemoryStore(), refunds).run()
        pending = asyncio.ensure_future(failed_only.__anext__())
        quiet_task = asyncio.ensure_future(nothing_more(completed_only, 4.0))
        await asyncio.sleep(1.0)
        await asyncio.to_thread(run_to_end, refunds)
        got = [(await asyncio.wait_for(pending, 30)).payload]
        quiet = await quiet_task
        await failed_only.aclose()
        await completed_only.aclose()
        return got, quiet

    got, quiet = asyncio.run(scenario())
    assert got[0]["status"] == "failed"
    assert quiet


def test_fifty_watchers_on_one_connection_cost_one_listing_per_round(emulator: EmulatorServer) -> None:
    flows = [DEMO_IDS[key] for key in DEMO_IDS if key.startswith("flow_")]

    async def scenario() -> tuple[int, int, int]:
        triggers = [make_trigger(MemoryStore(), flows[n % len(flows)], poll_interval=0.5) for n in range(WATCHERS)]
        tasks = [asyncio.ensure_future(trigger.run().__anext__()) for trigger in triggers]
        await asyncio.sleep(0.5)
        listing = listing_for("celigo_default")
        await asyncio.sleep(3.0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0.2)  # the listing's last round answers, then it stops
        return listing.calls["rounds"], listing.calls["listing"], len(job_listings(emulator))

    rounds, listings, requests = asyncio.run(scenario())
    record(
        "watchers_listing",
        f"{WATCHERS} watchers on one connection: {rounds} rounds, {listings} listings by the provider, "
        f"{requests} GET /v1/jobs seen by the emulator (one per round)",
    )
    assert rounds >= 4
    assert listings == rounds
    assert requests == rounds  # counted by the emulator: GET /v1/jobs, one per round for all 50 watchers


def job_listings(emulator: EmulatorServer) -> list[dict[str, Any]]:
    return [r for r in emulator.admin.requests_log() if r["method"] == "GET" and r["path"] == "/v1/jobs"]


def test_a_run_of_a_three_source_flow_is_one_event_with_every_job(emulator: EmulatorServer) -> None:
    storefronts = DEMO_IDS["flow_storefront_orders"]  # three sources: three flow jobs per run

    async def scenario() -> tuple[list[dict[str, Any]], bool, str]:
        events = make_trigger(MemoryStore(), storefronts).run()
        pending = asyncio.ensure_future(events.__anext__())
        await asyncio.sleep(1.0)
        first_job = await asyncio.to_thread(run_to_end, storefronts)
        got = [(await asyncio.wait_for(pending, 60)).payload]
        quiet = await nothing_more(events, 2.0)
        await events.aclose()
        return got, quiet, first_job

    got, quiet, first_job = asyncio.run(scenario())
    jobs = [job for job in emulator.admin.jobs() if job.get("_flowId") == storefronts and job.get("type") == "flow"]
    assert len(jobs) == 3
    assert len(got) == 1 and quiet, "one run of three flow jobs must be one event"
    assert got[0]["job_ids"][0] == first_job
    assert sorted(got[0]["job_ids"]) == sorted(job["_id"] for job in jobs)
    assert got[0]["num_success"] == sum(job["numSuccess"] for job in jobs)
