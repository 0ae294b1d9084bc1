"""The shared flow listing: one listing per round for every watcher of a connection."""

from __future__ import annotations

import asyncio
from typing import Any

from airflow_provider_celigo.jobs.listing import FlowListing


class FakeHook:
    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        self.jobs = jobs
        self.calls: list[dict[str, Any]] = []
        self.closed = False

    async def list_jobs(self, **filters: Any) -> list[dict[str, Any]]:
        self.calls.append(filters)
        flows = {value for key, value in filters.items() if key.startswith("_flowId_in")}
        return [job for job in self.jobs if job["_flowId"] in flows]

    async def get_job(self, job_id: str) -> dict[str, Any]:
        raise AssertionError("not used")

    async def aclose(self) -> None:
        self.closed = True


def flow(n: int) -> str:
    return f"{n:024x}"


def test_fifty_watchers_share_one_listing_per_round() -> None:
    hook = FakeHook([{"_id": f"{n + 100:024x}", "_flowId": flow(n), "type": "flow"} for n in range(50)])

    async def scenario() -> tuple[list[list[dict[str, Any]]], int]:
        listing = FlowListing("celigo_default", lambda: hook)
        watches = [listing.watch(flow(n), poll_interval=0.2) for n in range(50)]
        first = await asyncio.gather(*(watch.next_listing() for watch in watches))
        await asyncio.gather(*(watch.next_listing() for watch in watches))
        rounds = listing.calls["rounds"]
        for watch in watches:
            watch.close()
        await asyncio.sleep(0.3)
        return first, rounds

    first, rounds = asyncio.run(scenario())
    assert [[job["_flowId"] for job in jobs] for jobs in first] == [[flow(n)] for n in range(50)]
    assert len(hook.calls) == rounds >= 2  # one call per round for 50 flows
    assert all(call["type"] == "flow" for call in hook.calls)
    assert hook.closed


def test_fifty_one_flows_take_two_listings_per_round_and_the_oldest_horizon() -> None:
    from datetime import datetime, timedelta, timezone

    hook = FakeHook([])
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)

    async def scenario() -> None:
        listing = FlowListing("celigo_default", lambda: hook)
        watches = [
            listing.watch(flow(n), poll_interval=5, horizon=lambda n=n: base + timedelta(minutes=n)) for n in range(51)
        ]
        await asyncio.gather(*(watch.next_listing() for watch in watches))
        for watch in watches:
            watch.close()
        await asyncio.sleep(0.1)

    asyncio.run(scenario())
    assert len(hook.calls) == 2
    assert hook.calls[0]["createdAt_gte"] == "2026-01-01T00:00:00.000Z"
    assert hook.calls[1]["createdAt_gte"] == "2026-01-01T00:50:00.000Z"
