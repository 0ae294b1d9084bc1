"""A slow or failing read delays only the watchers of its own job; every other watcher keeps its interval."""

from __future__ import annotations

import asyncio
from typing import Any

from airflow_provider_celigo.jobs.poller import poller_for

Job = dict[str, Any]
CONN = "celigo_isolation_test"
SLOW, FAST = "6650aa000000000000000001", "6650aa000000000000000002"
SLOW_READ_SECONDS = 2.0
INTERVAL = 0.1


class SlowForOneJob:
    """``GET /jobs/{id}`` that takes ``SLOW_READ_SECONDS`` for one job and answers the others at once."""

    def __init__(self) -> None:
        self.closed = 0

    async def get_job(self, jid: str) -> Job:
        if jid == SLOW:
            await asyncio.sleep(SLOW_READ_SECONDS)
        return {"_id": jid, "type": "step", "status": "running", "createdAt": "2026-11-23T10:00:00.000Z"}

    async def list_jobs(self, **filters: Any) -> list[Job]:
        raise AssertionError("step jobs are read one by one")

    async def aclose(self) -> None:
        self.closed += 1


def test_a_slow_read_does_not_stop_the_rounds_of_other_watchers() -> None:
    api = SlowForOneJob()

    async def scenario() -> tuple[int, int]:
        poller = poller_for(CONN, lambda: api)
        slow = poller.watch(SLOW, None, poll_interval=INTERVAL)
        fast = poller.watch(FAST, None, poll_interval=INTERVAL)
        fast_docs = slow_docs = 0
        loop = asyncio.get_running_loop()
        ends = loop.time() + 2 * SLOW_READ_SECONDS

        async def count_fast() -> None:
            nonlocal fast_docs
            while loop.time() < ends:
                if await fast.next_document(timeout=ends - loop.time()) is not None:
                    fast_docs += 1

        async def count_slow() -> None:
            nonlocal slow_docs
            while loop.time() < ends:
                if await slow.next_document(timeout=ends - loop.time()) is not None:
                    slow_docs += 1

        await asyncio.gather(count_fast(), count_slow())
        slow.close()
        fast.close()
        await asyncio.sleep(0.05)
        return fast_docs, slow_docs

    fast_docs, slow_docs = asyncio.run(scenario())
    # 4 s at a 0.1 s interval: ~40 reads of the fast job; before reads were isolated it got 2 (one per slow read).
    assert fast_docs >= 15, fast_docs
    assert slow_docs <= 2, slow_docs  # the slow job is not read again while its read is outstanding
    assert api.closed == 1


class ListingMissesOneJob:
    """A listing that holds job A but not job B (read alone, slowly), both of one flow."""

    FLOW = "6650f0000000000000000001"

    def __init__(self) -> None:
        self.closed = 0

    def doc(self, jid: str) -> Job:
        return {
            "_id": jid,
            "type": "flow",
            "_flowId": self.FLOW,
            "status": "running",
            "createdAt": "2026-11-23T10:00:00.000Z",
        }

    async def get_job(self, jid: str) -> Job:
        # B's read outlasts its batch's listing; A's own reads (it is alone in later rounds) take long enough
        # that one is under way when B's batch ends.
        await asyncio.sleep(0.5 if jid == SLOW else 0.3)
        return self.doc(jid)

    async def list_jobs(self, **filters: Any) -> list[Job]:
        return [self.doc(FAST)]

    async def aclose(self) -> None:
        self.closed += 1


def test_a_job_read_again_while_its_batch_still_runs_gets_no_false_error() -> None:
    api = ListingMissesOneJob()

    async def scenario() -> list[Any]:
        poller = poller_for(CONN, lambda: api)
        fast = poller.watch(FAST, api.FLOW, poll_interval=0.05)
        slow = poller.watch(SLOW, api.FLOW, poll_interval=0.05)
        seen: list[Any] = []
        loop = asyncio.get_running_loop()
        ends = loop.time() + 1.5
        while loop.time() < ends:
            try:
                seen.append(await fast.next_document(timeout=ends - loop.time()))
            except Exception as error:  # what a false "ended without an answer" would raise
                seen.append(error)
        fast.close()
        slow.close()
        await asyncio.sleep(0.05)
        return seen

    seen = asyncio.run(scenario())
    errors = [item for item in seen if isinstance(item, BaseException)]
    assert not errors, errors
    assert sum(isinstance(item, dict) for item in seen) >= 3
