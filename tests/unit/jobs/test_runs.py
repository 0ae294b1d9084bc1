"""A flow run is one flow job per source: ``jobs.runs`` against the real records and against made-up timings."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_celigo.jobs.runs import (
    AsyncRunReader,
    FlowRun,
    RunReader,
    first_source,
    flow_sources,
    run_summary,
)
from airflow_provider_celigo.jobs.status import COUNTERS, count, parse_time
from airflow_provider_celigo.jobs.wait import cancel_and_confirm, progress_line, wait_for_job

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "real-flow-jobs.json"
FLOW = "6650f0000000000000000009"
A, B, C = "6650e00000000000000000a1", "6650e00000000000000000b2", "6650e00000000000000000c3"


def real_flows() -> dict[str, list[dict[str, Any]]]:
    by_flow: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for job in json.loads(FIXTURE.read_text()):
        by_flow[job["_flowId"]].append(job)
    return by_flow


def sources_by_export_index(jobs: list[dict[str, Any]]) -> tuple[str, ...]:
    """The order of a flow's sources as the records show it: the oIndex of each flow job's export step."""
    index = {}
    for job in jobs:
        for step in job.get("steps") or []:
            if step.get("type") == "export" and step.get("_exportId") == job["_exportId"]:
                index[job["_exportId"]] = step["oIndex"]
    return tuple(sorted(index, key=index.__getitem__))


def real_run(flow_id: str) -> tuple[FlowRun, list[dict[str, Any]]]:
    jobs = sorted(real_flows()[flow_id], key=lambda job: job["createdAt"])
    run = FlowRun(flow_id=flow_id, first_job_id=jobs[0]["_id"], sources=sources_by_export_index(jobs))
    run.learn(jobs)
    return run, jobs


def test_the_five_source_run_of_the_real_records_is_one_run_of_five_jobs() -> None:
    run, jobs = real_run("64aad18c8a849e7db1c11e40")
    assert len(run.sources) == 5
    assert run.job_ids == [job["_id"] for job in jobs]  # each created as the previous source's export ended
    assert run.has_ended()
    summary = run.summary()
    assert summary["num_success"] == sum(count(job, "numSuccess") for job in jobs) == 395549
    assert summary["num_error"] == 145654
    assert summary["status"] == "canceled" and summary["outcome"] == "canceled"  # one of the five was canceled
    assert summary["job_ids"] == run.job_ids and summary["job_id"] == jobs[0]["_id"]
    assert summary["started_at"] == jobs[0]["startedAt"]
    assert parse_time(summary["ended_at"]) == max(parse_time(job["endedAt"]) for job in jobs)


def test_the_three_source_run_of_the_real_records_overlaps_and_completes() -> None:
    run, jobs = real_run("63e3bfefc1c99e221ca6a139")
    assert run.job_ids == [job["_id"] for job in jobs]
    assert run.summary()["status"] == "completed" and run.summary()["num_success"] == 6


def test_runs_of_single_sources_of_a_two_source_flow_stay_apart() -> None:
    # Four runs of one source each: a job of the other source created after this run's job ended is not its.
    run, jobs = real_run("64dcdd61250aa4586dbc3c1c")
    assert run.job_ids == [jobs[0]["_id"]]
    assert run.has_ended() and run.summary()["num_success"] == 1


def flow_job(job_id: str, source: str, status: str, created: str, started: str | None = None, **fields: Any) -> dict:
    doc = {"_id": job_id, "type": "flow", "_flowId": FLOW, "_exportId": source, "status": status, "createdAt": created}
    if started:
        doc["startedAt"] = started
    return {**doc, **fields}


T = "2026-12-01T10:00:"


def test_a_queued_run_does_not_adopt_the_previous_runs_next_source() -> None:
    # Run 1 runs source A, then B (created as A's export ends, 10:00:20). Run 2 was requested at 10:00:10 and
    # queues behind run 1's A job; its own B job comes after its A job started.
    jobs = [
        flow_job("1" * 24, A, "completed", T + "00.000Z", T + "01.000Z", endedAt=T + "30.000Z", numSuccess=5),
        flow_job("2" * 24, A, "running", T + "10.000Z", T + "31.000Z", numSuccess=1),
        flow_job("3" * 24, B, "running", T + "20.000Z", T + "21.000Z", numSuccess=2),
    ]
    run = FlowRun(flow_id=FLOW, first_job_id="2" * 24, sources=(A, B))
    run.learn(jobs)
    assert run.job_ids == ["2" * 24] and run.missing_sources() == [B]
    assert not run.has_ended()
    jobs[1] = {**jobs[1], "numSuccess": 4}
    jobs.append(flow_job("4" * 24, B, "queued", T + "40.000Z"))
    run.learn(jobs)
    assert run.job_ids == ["2" * 24, "4" * 24]
    assert run.as_job()["numSuccess"] == 4  # summed over this run's jobs only, read fresh


def test_a_parallel_run_takes_the_jobs_created_with_its_first() -> None:
    jobs = [
        flow_job("5" * 24, B, "completed", T + "00.100Z", T + "01.000Z", endedAt=T + "09.000Z", numError=2),
        flow_job("6" * 24, A, "completed", T + "00.200Z", T + "01.000Z", endedAt=T + "05.000Z", numSuccess=3),
        flow_job("7" * 24, C, "failed", T + "00.300Z", T + "02.000Z", endedAt=T + "04.000Z"),
        flow_job("8" * 24, A, "queued", "2026-12-01T10:05:00.000Z"),  # a later run
    ]
    run = FlowRun(flow_id=FLOW, first_job_id="6" * 24, sources=(A, B, C), parallel=True)
    run.learn(jobs)
    assert run.job_ids == ["6" * 24, "5" * 24, "7" * 24]
    assert run.has_ended()
    summary = run.summary()
    assert (summary["status"], summary["num_success"], summary["num_error"]) == ("failed", 3, 2)


def test_the_folded_run_stays_active_until_every_job_seen_has_ended() -> None:
    run = FlowRun(flow_id=FLOW, first_job_id="1" * 24, sources=(A, B))
    run.learn([flow_job("1" * 24, A, "queued", T + "00.000Z")])
    assert run.status() == "queued" and not run.has_ended()
    run.learn([flow_job("1" * 24, A, "running", T + "00.000Z", T + "01.000Z")])
    run.learn([flow_job("2" * 24, B, "queued", T + "05.000Z")])
    assert run.status() == "running"
    line = progress_line(run.as_job(), 3)
    assert "[2 of 2 sources: source 1 job 111111111111111111111111 running" in line
    assert "source 2 job 222222222222222222222222 queued" in line and line.endswith("3s elapsed")


def test_a_run_of_one_source_is_its_job() -> None:
    job = flow_job("1" * 24, A, "completed", T + "00.000Z", numSuccess=3)
    run = FlowRun(flow_id=FLOW, first_job_id="1" * 24, sources=(A,))
    run.learn([job])
    assert run.single and run.as_job() is job
    assert run_summary(job)["job_ids"] == ["1" * 24]


@pytest.mark.parametrize(
    ("flow", "export_ids", "expected"),
    [
        ({"pageGenerators": [{"_exportId": B}, {"_exportId": A}]}, None, (B, A)),
        ({"pageGenerators": [{"_exportId": B}, {"_exportId": A}, {"_exportId": C}]}, [C, B], (B, C)),
        ({"_exportId": A}, None, (A,)),
        ({"pageGenerators": [{"type": "webhook"}]}, None, ()),
        ({}, [A, B], (A, B)),
        ("not a flow", None, ()),
    ],
)
def test_flow_sources_follow_the_flow_document(flow: Any, export_ids: Any, expected: tuple[str, ...]) -> None:
    assert flow_sources(flow, export_ids) == expected
    assert first_source(flow, export_ids) == (expected[0] if expected else None)


class Calls:
    """The hook calls ``RunReader`` uses, answering from a script of listings."""

    def __init__(self, listings: list[list[dict[str, Any]]]) -> None:
        self.listings = listings
        self.reads: list[str] = []
        self.canceled: list[str] = []

    def get_job(self, job_id: str) -> dict[str, Any]:
        self.reads.append(f"get {job_id[:1]}")
        return next(doc for doc in self.listings[0] if doc["_id"] == job_id)

    def find_flow_jobs(self, flow_id: str, created_after: Any = None) -> list[dict[str, Any]]:
        """Answer the current listing; the next call gets the next one (the last one stays)."""
        self.reads.append("list")
        docs = self.listings[0] if len(self.listings) == 1 else self.listings.pop(0)
        return [doc for doc in docs if created_after is None or parse_time(doc["createdAt"]) >= created_after]

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        self.canceled.append(job_id)
        for listing in self.listings:
            for doc in listing:
                if doc["_id"] == job_id:
                    doc["status"] = "canceled"
        return {}


def three_sources(status_1: str, status_2: str, status_3: str | None) -> list[dict[str, Any]]:
    jobs = [
        flow_job("1" * 24, A, status_1, T + "00.000Z", T + "01.000Z", numSuccess=10, numError=1),
        flow_job("2" * 24, B, status_2, T + "05.000Z", T + "06.000Z", numSuccess=20),
    ]
    if status_3:
        jobs.append(flow_job("3" * 24, C, status_3, T + "08.000Z", T + "09.000Z", numSuccess=30))
    return jobs


def test_waiting_on_a_run_waits_for_every_source_and_sums_the_counts() -> None:
    calls = Calls(
        [
            three_sources("running", "queued", None),
            three_sources("completed", "running", "running"),
            three_sources("completed", "completed", "completed"),
        ]
    )
    run = FlowRun(flow_id=FLOW, first_job_id="1" * 24, sources=(A, B, C))
    lines: list[str] = []

    class Log:
        def info(self, line: str, *args: Any) -> None:
            lines.append(line % args if args else line)

    final = wait_for_job(RunReader(calls, run), "1" * 24, poll_interval=0.001, deadline=None, log=Log())
    assert final["status"] == "completed" and final["numSuccess"] == 60 and final["numError"] == 1
    assert run_summary(final)["job_ids"] == ["1" * 24, "2" * 24, "3" * 24]
    assert len(lines) == 3 and "[2 of 3 sources" in lines[0] and "[3 of 3 sources" in lines[2]
    assert calls.reads[:2] == ["get 1", "list"]  # the first job alone once, then one listing per poll
    assert calls.reads[2:] == ["list", "list"]
    assert sum(c in COUNTERS for c in final) == len(COUNTERS)


def test_canceling_a_run_cancels_every_job_that_has_not_ended() -> None:
    calls = Calls([three_sources("completed", "running", "queued")])
    run = FlowRun(flow_id=FLOW, first_job_id="1" * 24, sources=(A, B, C))

    class Log:
        def info(self, *args: Any) -> None: ...

        def warning(self, *args: Any) -> None: ...

    final = cancel_and_confirm(RunReader(calls, run), "1" * 24, log=Log(), poll_interval=0.001)
    assert calls.canceled == ["2" * 24, "3" * 24]
    assert final is not None and final["status"] == "canceled" and final["_jobIds"] == run.job_ids


def test_the_async_reader_reads_the_same_run() -> None:
    docs = three_sources("completed", "completed", "failed")

    class AsyncCalls:
        def __init__(self) -> None:
            self.filters: list[dict[str, Any]] = []

        async def get_job(self, job_id: str) -> dict[str, Any]:
            return next(doc for doc in docs if doc["_id"] == job_id)

        async def list_jobs(self, **filters: Any) -> list[dict[str, Any]]:
            self.filters.append(filters)
            return docs

        async def cancel_job(self, job_id: str) -> Any:
            raise AssertionError("nothing to cancel")

    calls = AsyncCalls()
    run = FlowRun(flow_id=FLOW, first_job_id="1" * 24, sources=(A, B, C))
    folded = asyncio.run(AsyncRunReader(calls, run).get_job("1" * 24))
    assert folded["status"] == "failed" and folded["numSuccess"] == 60
    assert calls.filters == [{"_flowId": FLOW, "type": "flow", "createdAt_gte": "2026-12-01T09:59:59.000Z"}]


def test_the_async_reader_can_take_its_listings_from_a_shared_round() -> None:
    rounds = [three_sources("completed", "running", None), three_sources("completed", "completed", "completed")]

    class NoOwnListing:
        async def get_job(self, job_id: str) -> dict[str, Any]:
            return rounds[0][0]

        async def list_jobs(self, **filters: Any) -> list[dict[str, Any]]:
            raise AssertionError("the shared round gives the listings")

        async def cancel_job(self, job_id: str) -> Any: ...

    async def next_round() -> list[dict[str, Any]]:
        return rounds.pop(0) if len(rounds) > 1 else rounds[0]

    async def watch() -> list[dict[str, Any]]:
        run = FlowRun(flow_id=FLOW, first_job_id="1" * 24, sources=(A, B, C))
        reader = AsyncRunReader(NoOwnListing(), run, listing=next_round)
        first = await reader.next_document(5)
        second = await reader.next_document(5)
        return [first, second]

    first, second = asyncio.run(watch())
    assert first is not None and first["status"] == "running" and first["_jobIds"] == ["1" * 24, "2" * 24]
    assert second is not None and second["status"] == "completed" and second["numSuccess"] == 60
