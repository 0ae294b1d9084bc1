"""The shared job poller: batching by flow, fall-backs, errors, life cycle; and CeligoJobTrigger on top of it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from airflow_provider_celigo.exceptions import CeligoApiError
from airflow_provider_celigo.jobs import poller as job_poller
from airflow_provider_celigo.jobs.poller import JobPoller, plan_round, poller_for, watch_job
from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

Job = dict[str, Any]
CONN = "celigo_poller_test"


def flow_id(n: int) -> str:
    return f"6650f0{n:018x}"


def job_id(n: int) -> str:
    return f"6650aa{n:018x}"


class FakeJobsApi:
    """An in-memory ``GET /jobs`` and ``GET /jobs/{id}`` with call records, shaped like CeligoAsyncHook."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.calls: list[tuple[str, Any]] = []
        self.closed = 0
        self.listing_error: Exception | None = None
        self.hidden: set[str] = set()  # jobs the listing does not return

    def add(self, n: int, flow: int, *, status: str = "running", second: int = 0, type_: str = "flow") -> str:
        jid = job_id(n)
        created = f"2026-11-23T10:{second // 60:02d}:{second % 60:02d}.000Z"
        self.jobs[jid] = {"_id": jid, "type": type_, "_flowId": flow_id(flow), "status": status, "createdAt": created}
        return jid

    def finish(self, jid: str, status: str = "completed") -> None:
        self.jobs[jid]["status"] = status

    async def get_job(self, jid: str) -> Job:
        self.calls.append(("get", jid))
        await asyncio.sleep(0)
        if jid not in self.jobs:
            raise CeligoApiError(status=404, method="GET", path=f"/v1/jobs/{jid}", message="not found")
        return dict(self.jobs[jid])

    async def list_jobs(self, **filters: Any) -> list[Job]:
        self.calls.append(("list", filters))
        await asyncio.sleep(0)
        if self.listing_error is not None:
            raise self.listing_error
        flows = {value for key, value in filters.items() if key.startswith("_flowId_in[")}
        found = [
            dict(doc)
            for doc in self.jobs.values()
            if doc["_flowId"] in flows
            and doc["type"] == filters.get("type", doc["type"])
            and doc["_id"] not in self.hidden
            and doc["createdAt"] >= filters.get("createdAt_gte", "")
            and doc["createdAt"] <= filters.get("createdAt_lte", "9999")
        ]
        found.sort(key=lambda doc: doc["createdAt"], reverse=True)
        return found[: job_poller.JOBS_PER_ANSWER]

    async def aclose(self) -> None:
        self.closed += 1

    def listings(self) -> list[dict[str, Any]]:
        return [args for kind, args in self.calls if kind == "list"]

    def reads(self) -> list[str]:
        return [args for kind, args in self.calls if kind == "get"]


async def after_first_listing(api: FakeJobsApi, timeout: float = 30.0) -> None:
    """Return once the poller has listed jobs once: tests end their jobs only then, so that at least two
    rounds happen however slow the machine is."""

    async def listed() -> None:
        while not api.listings():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(listed(), timeout)


def run(coro: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coro())


async def watch_all(api: FakeJobsApi, jobs: dict[str, int | None], interval: float = 0.01) -> dict[str, Job]:
    """Watch every job (id -> flow number or None) until it ends; return the final documents."""

    async def one(jid: str, flow: int | None) -> Job:
        fid = flow_id(flow) if flow is not None else None
        with watch_job(CONN, jid, flow_id=fid, poll_interval=interval, hook_factory=lambda: api) as watch:
            return await watch.wait_until_ended()

    results = await asyncio.gather(*(one(jid, flow) for jid, flow in jobs.items()))
    return dict(zip(jobs, results, strict=True))


# -- batching ---------------------------------------------------------------------------------------------------


def test_many_jobs_on_many_flows_cost_one_listing_per_fifty_flows_per_round() -> None:
    api = FakeJobsApi()
    jobs = {api.add(n, flow=n, status="completed"): n for n in range(120)}
    final = run(lambda: watch_all(api, jobs))
    assert all(doc["status"] == "completed" for doc in final.values())
    listings = api.listings()
    assert len(listings) == 3 and api.reads() == []  # 50 + 50 + 20 flows
    assert all(args["type"] == "flow" for args in listings)
    assert sorted(value for args in listings for key, value in args.items() if key.startswith("_flowId_in")) == sorted(
        flow_id(n) for n in range(120)
    )
    assert "createdAt_gte" not in listings[0]  # nothing known yet about when the jobs were created


def test_later_rounds_start_the_listing_at_the_oldest_watched_job() -> None:
    api = FakeJobsApi()
    first, second = api.add(1, flow=1, second=30), api.add(2, flow=2, second=10)

    async def scenario() -> None:
        async def finish_later() -> None:
            await after_first_listing(api)
            api.finish(first)
            api.finish(second, "failed")

        finisher = asyncio.create_task(finish_later())
        final = await watch_all(api, {first: 1, second: 2})
        await finisher
        assert final[second]["status"] == "failed"

    run(scenario)
    later = api.listings()[1:]
    assert later and all(args["createdAt_gte"] == "2026-11-23T10:00:10.000Z" for args in later)
    assert api.reads() == []


def test_a_single_job_is_read_directly() -> None:
    api = FakeJobsApi()
    jid = api.add(1, flow=1, status="completed")
    run(lambda: watch_all(api, {jid: 1}))
    assert api.calls == [("get", jid)]


def test_two_watchers_of_one_job_share_its_reads() -> None:
    api = FakeJobsApi()
    jid = api.add(1, flow=1, status="completed")

    async def scenario() -> list[Job]:
        async def one() -> Job:
            with watch_job(CONN, jid, flow_id=flow_id(1), poll_interval=0.01, hook_factory=lambda: api) as watch:
                return await watch.wait_until_ended()

        return await asyncio.gather(one(), one())

    assert [doc["_id"] for doc in run(scenario)] == [jid, jid]
    assert api.calls == [("get", jid)]


def test_plan_round_groups_by_flow_and_reads_lonely_jobs_directly() -> None:
    tracked = [job_poller._Tracked(job_id(n), flow_id(n % 3)) for n in range(5)]
    tracked.append(job_poller._Tracked(job_id(9), None))
    batches, singles = plan_round(tracked, flows_per_query=2)
    assert [[t.job_id for t in batch] for batch in batches] == [[job_id(0), job_id(3), job_id(1), job_id(4)]]
    assert {t.job_id for t in singles} == {job_id(2), job_id(9)}


# -- fall-backs and errors -----------------------------------------------------------------------------------------


def test_jobs_missing_from_the_listing_are_read_one_by_one() -> None:
    api = FakeJobsApi()
    listed = [api.add(n, flow=n, status="completed") for n in range(3)]
    hidden = api.add(7, flow=1, status="completed")
    api.hidden.add(hidden)
    final = run(lambda: watch_all(api, {**{jid: n for n, jid in enumerate(listed)}, hidden: 1}))
    assert final[hidden]["status"] == "completed"
    assert len(api.listings()) == 1 and api.reads() == [hidden]


def test_step_and_retry_jobs_are_read_directly_after_the_first_look() -> None:
    api = FakeJobsApi()
    flows = {api.add(n, flow=n): n for n in range(2)}
    retry = api.add(5, flow=0, type_="retry")

    async def scenario() -> None:
        async def finish_later() -> None:
            await after_first_listing(api)
            for jid in [*flows, retry]:
                api.finish(jid)

        finisher = asyncio.create_task(finish_later())
        await watch_all(api, {**flows, retry: 0})
        await finisher

    run(scenario)
    reads = api.reads()
    assert set(reads) == {retry} and len(reads) > 1  # the flow jobs were always found by the listing
    assert len(api.listings()) == len(reads)  # one listing per round for the two flow jobs, not two reads


def test_a_failing_listing_falls_back_to_reading_each_job() -> None:
    api = FakeJobsApi()
    jobs = {api.add(n, flow=n, status="completed"): n for n in range(3)}
    api.listing_error = CeligoApiError(status=503, method="GET", path="/v1/jobs", message="unavailable")
    final = run(lambda: watch_all(api, jobs))
    assert set(final) == set(jobs) and sorted(api.reads()) == sorted(jobs)


def test_a_failing_read_is_raised_in_the_watcher_only() -> None:
    api = FakeJobsApi()
    good = api.add(1, flow=1, status="completed")
    api.listing_error = CeligoApiError(status=503, method="GET", path="/v1/jobs", message="unavailable")

    async def scenario() -> tuple[Any, Any]:
        async def one(jid: str, flow: int) -> Any:
            with watch_job(CONN, jid, flow_id=flow_id(flow), poll_interval=0.01, hook_factory=lambda: api) as watch:
                try:
                    return await watch.wait_until_ended()
                except CeligoApiError as error:
                    return error

        return await asyncio.gather(one(good, 1), one(job_id(99), 2))

    done, missing = run(scenario)
    assert done["status"] == "completed"
    assert isinstance(missing, CeligoApiError) and missing.status == 404


def test_paging_back_when_the_answer_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_poller, "JOBS_PER_ANSWER", 3)
    api = FakeJobsApi()
    old = api.add(1, flow=1, second=1, status="completed")
    newer = [api.add(10 + n, flow=2, second=10 + n, status="completed") for n in range(5)]
    final = run(lambda: watch_all(api, {old: 1, newer[-1]: 2}))
    assert final[old]["status"] == "completed"
    first, second = api.listings()
    assert "createdAt_lte" not in first and second["createdAt_lte"] == "2026-11-23T10:00:11.999Z"
    assert api.reads() == []


# -- life cycle ------------------------------------------------------------------------------------------------


def test_the_poller_stops_and_closes_its_hook_when_the_last_watcher_leaves() -> None:
    api = FakeJobsApi()
    jid = api.add(1, flow=1)

    async def scenario() -> None:
        poller = poller_for(CONN, lambda: api)
        watch = poller.watch(jid, flow_id(1), poll_interval=0.01)
        assert await watch.next_document() is not None
        assert poller_for(CONN) is poller and poller.watching == 1
        watch.close()
        watch.close()  # idempotent
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert poller.watching == 0 and api.closed == 1
        assert poller_for(CONN, lambda: api) is not poller  # a fresh poller for the next watcher

    run(scenario)


def test_a_cancelled_watcher_unregisters() -> None:
    api = FakeJobsApi()
    jid = api.add(1, flow=1)

    async def scenario() -> None:
        poller = poller_for(CONN, lambda: api)

        async def wait() -> None:
            with poller.watch(jid, flow_id(1), poll_interval=0.01) as watch:
                await watch.wait_until_ended()

        task = asyncio.create_task(wait())
        await asyncio.sleep(0.05)
        assert poller.watching == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert poller.watching == 0
        await asyncio.sleep(0.02)
        assert api.closed == 1

    run(scenario)


def test_next_document_times_out_with_none() -> None:
    api = FakeJobsApi()
    jid = api.add(1, flow=1)

    async def scenario() -> None:
        with watch_job(CONN, jid, flow_id=flow_id(1), poll_interval=3600, hook_factory=lambda: api) as watch:
            assert (await watch.next_document())["status"] == "running"
            assert await watch.next_document(timeout=0.01) is None
            assert watch.latest is not None and watch.latest["_id"] == jid

    run(scenario)


def test_pollers_are_per_connection_and_event_loop() -> None:
    async def grab(conn_id: str) -> JobPoller:
        return poller_for(conn_id, FakeJobsApi)

    async def same_loop() -> tuple[JobPoller, JobPoller, JobPoller]:
        return await grab("a"), await grab("a"), await grab("b")

    first, again, other = run(same_loop)
    assert first is again and first is not other
    assert run(lambda: grab("a")) is not first


def test_poll_interval_must_be_positive() -> None:
    async def scenario() -> None:
        with pytest.raises(ValueError, match="poll_interval"):
            poller_for(CONN, FakeJobsApi).watch(job_id(1), poll_interval=0)

    run(scenario)


# -- CeligoJobTrigger on the shared poller -----------------------------------------------------------------------


def test_many_triggers_share_listings_and_fire_their_own_events(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeJobsApi()
    jobs = {api.add(n, flow=n % 40): n % 40 for n in range(200)}
    monkeypatch.setattr(CeligoJobTrigger, "_make_hook", lambda self: api)

    async def scenario() -> list[dict[str, Any]]:
        async def finish_later() -> None:
            await after_first_listing(api)
            for n, jid in enumerate(jobs):
                api.finish(jid, "failed" if n % 2 else "completed")

        async def one(jid: str, flow: int) -> dict[str, Any]:
            trigger = CeligoJobTrigger(job_id=jid, flow_id=flow_id(flow), celigo_conn_id=CONN, poll_interval=0.02)
            [event] = [event.payload async for event in trigger.run()]
            return event

        finisher = asyncio.create_task(finish_later())
        events = await asyncio.gather(*(one(jid, flow) for jid, flow in jobs.items()))
        await finisher
        return events

    events = run(scenario)
    assert [event["job_id"] for event in events] == list(jobs)
    assert [event["status"] for event in events] == ["error" if n % 2 else "success" for n in range(200)]
    rounds = len(api.listings())
    assert api.reads() == [] and rounds >= 2
    assert len(api.calls) < 200  # one listing per round instead of 200 reads


def test_opting_out_keeps_one_read_per_trigger(monkeypatch: pytest.MonkeyPatch) -> None:
    api = FakeJobsApi()
    jobs = [api.add(n, flow=n, status="completed") for n in range(3)]
    monkeypatch.setattr(CeligoJobTrigger, "_make_hook", lambda self: api)

    async def scenario() -> None:
        async def one(jid: str, n: int) -> None:
            trigger = CeligoJobTrigger(job_id=jid, flow_id=flow_id(n), poll_interval=0.01, shared_poller=False)
            [event] = [event.payload async for event in trigger.run()]
            assert event["status"] == "success"

        await asyncio.gather(*(one(jid, n) for n, jid in enumerate(jobs)))

    run(scenario)
    assert sorted(api.reads()) == sorted(jobs) and api.listings() == []


def test_the_opt_out_survives_serialization() -> None:
    trigger = CeligoJobTrigger(job_id=job_id(1), flow_id=flow_id(1), shared_poller=False)
    kwargs = trigger.serialize()[1]
    assert kwargs["shared_poller"] is False
    assert CeligoJobTrigger(**json.loads(json.dumps(kwargs))).shared_poller is False
    assert "shared_poller" not in CeligoJobTrigger(job_id=job_id(1)).serialize()[1]  # the default stays implicit


def test_shared_trigger_deadline_cancels_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    api = FakeJobsApi()
    jid = api.add(1, flow=1)
    cancels: list[str] = []

    async def cancel_job(job: str) -> Job:
        cancels.append(job)
        api.finish(job, "canceled")
        return dict(api.jobs[job])

    api.cancel_job = cancel_job  # type: ignore[attr-defined]
    monkeypatch.setattr(CeligoJobTrigger, "_make_hook", lambda self: api)
    trigger = CeligoJobTrigger(job_id=jid, flow_id=flow_id(1), poll_interval=3600, deadline=time.time() + 0.1)

    async def scenario() -> dict[str, Any]:
        [event] = [event.payload async for event in trigger.run()]
        return event

    event = run(scenario)
    assert cancels == [jid] and event["status"] == "timeout" and event["job_status"] == "canceled"


# -- against the emulator, with the real async hook ---------------------------------------------------------------


def many_flows_dump(count: int, seconds: float) -> dict[str, Any]:
    """A raw emulator dump of ``count`` one-step flows whose runs take ``seconds`` emulated seconds."""
    conn = "6650c0" + "0" * 17 + "9"
    dump: dict[str, Any] = {
        "connections": [{"_id": conn, "name": "HTTP", "type": "http", "http": {"baseURI": "https://x.example"}}],
        "exports": [],
        "imports": [],
        "flows": [],
        "scenarios": {},
    }
    for n in range(count):
        export, imp, flow = f"6650e0{n:018x}", f"6650d0{n:018x}", flow_id(n)
        dump["exports"].append({"_id": export, "name": f"export {n}", "_connectionId": conn})
        dump["imports"].append({"_id": imp, "name": f"import {n}", "_connectionId": conn})
        dump["flows"].append(
            {
                "_id": flow,
                "name": f"flow {n}",
                "pageGenerators": [{"_exportId": export}],
                "pageProcessors": [{"type": "import", "_importId": imp}],
            }
        )
        dump["scenarios"][flow] = {"export_seconds": seconds / 2, "import_seconds": seconds / 2, "records": 5}
    return dump


def test_against_the_emulator_the_poller_lists_by_flow_within_the_concurrency_level(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_celigo.hooks.celigo import CeligoHook
    from airflow_provider_celigo.testing import connection_json, running_emulator

    with running_emulator(seed=None, clock_speed=20.0) as server:
        server.admin.seed(many_flows_dump(60, seconds=10.0))
        monkeypatch.setenv("AIRFLOW_CONN_CELIGO_POLLER_EMULATOR", connection_json(server, concurrency_level=2))
        sync_hook = CeligoHook("celigo_poller_emulator")
        jobs = {sync_hook.run_flow(flow_id(n)): flow_id(n) for n in range(60)}
        sync_hook.close()
        server.admin.reset_stats()
        before = len(server.admin.requests_log())

        async def scenario() -> list[Job]:
            async def one(jid: str, fid: str) -> Job:
                with watch_job("celigo_poller_emulator", jid, flow_id=fid, poll_interval=0.2) as watch:
                    return await watch.wait_until_ended()

            return await asyncio.gather(*(one(jid, fid) for jid, fid in jobs.items()))

        final = asyncio.run(scenario())
        log = server.admin.requests_log()[before:]
        stats = server.admin.stats()
    assert [doc["_id"] for doc in final] == list(jobs) and {doc["status"] for doc in final} == {"completed"}
    listings = [entry for entry in log if entry["path"] == "/v1/jobs"]
    assert listings and len(log) == len(listings)  # 60 flows: two listings a round, no single reads
    assert all("_flowId_in" in entry["query"] and "type=flow" in entry["query"] for entry in listings)
    assert stats["peak_requests_in_flight"] <= 2
