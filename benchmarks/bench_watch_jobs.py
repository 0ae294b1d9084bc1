"""Benchmark 2: one triggerer-like event loop watching 1,000 concurrently running flow jobs.

1,000 flows are seeded in the emulator (its own process, clock speed 1) with runs lasting 60 to 120
seconds, each run once; then a fresh worker process runs 1,000 ``CeligoJobTrigger.run()`` in one event
loop until every trigger has fired, first with one ``GET /jobs/{id}`` per trigger (``shared_poller=False``,
the trigger as first written), then through the shared poller (``job_poller.py``). Per design:

- peak memory added per watched job: the worker's peak RSS while watching minus its RSS just before;
- CPU seconds of the worker while watching;
- API calls (the emulator's request counter) per job and per poll interval per job;
- lag: when the trigger event fired minus the job's ``endedAt`` (the emulated clock runs at real speed);
- peak calls in flight (the emulator's ``peak_requests_in_flight``) against the connection's level; the
  emulator adds 20 ms to every job read so that calls overlap as they would against the real API.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from common import (
    EmulatorProcess,
    airflow_home,
    flow_ids,
    flows_dump,
    median,
    quiet_logs,
    rss_bytes,
    save,
    set_connection,
)

JOBS = 1000
POLL_INTERVAL = 10.0
CONCURRENCY = 5
SHORTEST, LONGEST = 60.0, 120.0
LATENCY = 0.02  # seconds the emulator adds to every job read, so calls overlap and the in-flight cap shows
DESIGNS = ("per_job", "shared")


def durations(count: int, shortest: float, longest: float) -> list[float]:
    """Run lengths spread evenly from ``shortest`` to ``longest`` seconds."""
    step = (longest - shortest) / max(1, count - 1)
    return [round(shortest + n * step, 3) for n in range(count)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class PeakRss:
    """Samples the process's RSS in a background thread and keeps the peak."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def _ended_at(event: dict[str, Any]) -> float | None:
    ended = (event.get("summary") or {}).get("ended_at")
    return datetime.fromisoformat(ended.replace("Z", "+00:00")).timestamp() if ended else None


def start_runs(conn_id: str, flows: list[str]) -> dict[str, str]:
    """Run every flow once (5 threads); return ``{job id: flow id}``."""
    from airflow_provider_celigo.hooks.celigo import CeligoHook

    local = threading.local()

    def run(flow: str) -> tuple[str, str]:
        if not hasattr(local, "hook"):
            local.hook = CeligoHook(conn_id)
        return local.hook.run_flow(flow), flow

    with ThreadPoolExecutor(5) as pool:
        return dict(pool.map(run, flows))


async def watch(
    jobs: dict[str, str], conn_id: str, shared: bool, interval: float
) -> list[tuple[float, float, dict[str, Any]]]:
    """Run one trigger per job in this loop; return ``(registered, fired, event)`` per job."""
    from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

    async def one(job_id: str, flow_id: str) -> tuple[float, float, dict[str, Any]]:
        trigger = CeligoJobTrigger(
            job_id=job_id, flow_id=flow_id, celigo_conn_id=conn_id, poll_interval=interval, shared_poller=shared
        )
        registered = time.time()
        async for event in trigger.run():
            return registered, time.time(), event.payload
        raise RuntimeError("the trigger ended without an event")

    return await asyncio.gather(*(one(job_id, flow_id) for job_id, flow_id in jobs.items()))


def warm_up(conn_id: str) -> None:
    """Import and initialise what the first call loads (httpx client, SSL, job poller) before measuring."""
    from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook
    from airflow_provider_celigo.jobs import poller  # noqa: F401

    async def call() -> None:
        hook = CeligoAsyncHook(conn_id)
        await hook.request("GET", "/tokenInfo")
        await hook.aclose()

    asyncio.run(call())


def worker(design: str, root_url: str, jobs_count: int, interval: float) -> dict[str, Any]:
    """Measure one design in this (fresh) process."""
    airflow_home()
    quiet_logs()
    from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin

    admin = EmulatorAdmin(root_url, timeout=120)
    conn_id = set_connection(f"{root_url}/v1", CONCURRENCY)
    warm_up(conn_id)
    jobs = start_runs(conn_id, flow_ids(jobs_count))
    gc.collect()
    admin.reset_stats()
    calls_before = admin.stats()["requests_total"]
    log_before = len(admin.requests_log())
    rss_before = rss_bytes()
    cpu_before, wall_before = time.process_time(), time.time()
    with PeakRss() as peak:
        results = asyncio.run(watch(jobs, conn_id, shared=design == "shared", interval=interval))
    cpu, wall = time.process_time() - cpu_before, time.time() - wall_before
    stats = admin.stats()
    calls = stats["requests_total"] - calls_before
    log = admin.requests_log()[log_before:] if calls < 9000 else []
    admin.close()

    lags = [fired - ended for _, fired, event in results if (ended := _ended_at(event)) is not None]
    watched = sum(fired - registered for registered, fired, _ in results)
    statuses: dict[str, int] = {}
    for _, _, event in results:
        statuses[event["status"]] = statuses.get(event["status"], 0) + 1
    kinds = {
        "listings": sum(1 for entry in log if entry["path"] == "/v1/jobs"),
        "single_reads": sum(1 for entry in log if entry["path"].startswith("/v1/jobs/")),
    }
    return {
        "design": design,
        "jobs": len(results),
        "events": statuses,
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 2),
        "cpu_ms_per_job": round(cpu * 1000 / len(results), 2),
        "peak_rss_added_mb": round((peak.peak - rss_before) / 2**20, 1),
        "peak_kb_per_job": round((peak.peak - rss_before) / 1024 / len(results), 1),
        "api_calls": calls,
        "api_calls_by_kind": kinds if log else "request log too short to classify",
        "api_calls_per_job": round(calls / len(results), 2),
        "api_calls_per_poll_interval_per_job": round(calls / (watched / interval), 3),
        "lag_seconds": {
            "median": round(median(lags), 2),
            "p95": round(percentile(lags, 0.95), 2),
            "max": round(max(lags), 2),
            "min": round(min(lags), 2),
        },
        "peak_requests_in_flight": stats["peak_requests_in_flight"],
    }


def bars(result: dict[str, Any], interval: float) -> dict[str, bool]:
    """Return which of the issue's bars a design meets."""
    return {
        "under_50_kb_per_job": result["peak_kb_per_job"] < 50,
        "under_1_5_calls_per_interval_per_job": result["api_calls_per_poll_interval_per_job"] < 1.5,
        "lag_under_interval_plus_1s": result["lag_seconds"]["max"] < interval + 1,
        "in_flight_within_concurrency_level": result["peak_requests_in_flight"] <= CONCURRENCY,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=JOBS)
    parser.add_argument("--interval", type=float, default=POLL_INTERVAL, help="poll interval, seconds")
    parser.add_argument("--shortest", type=float, default=SHORTEST, help="shortest run, seconds")
    parser.add_argument("--longest", type=float, default=LONGEST, help="longest run, seconds")
    parser.add_argument("--worker", choices=DESIGNS, help=argparse.SUPPRESS)
    parser.add_argument("--root-url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        Path(args.out).write_text(json.dumps(worker(args.worker, args.root_url, args.jobs, args.interval)))
        return
    results: dict[str, Any] = {}
    with EmulatorProcess() as emulator, tempfile.TemporaryDirectory() as tmp:
        for design in DESIGNS:
            admin = emulator.admin
            admin.reset()
            admin.configure(bucket_size=10_000_000, refill_per_second=1_000_000.0, clock_speed=1.0)
            admin.set_faults({"routes": [{"prefix": "/v1/jobs", "latency": LATENCY}]})
            admin.seed(flows_dump(durations(args.jobs, args.shortest, args.longest)))
            out = Path(tmp) / f"{design}.json"
            command = [sys.executable, __file__, "--worker", design, "--root-url", emulator.root_url]
            options = ["--jobs", str(args.jobs), "--interval", str(args.interval), "--out", str(out)]
            subprocess.run([*command, *options], check=True)
            result = json.loads(out.read_text())
            result["bars"] = bars(result, args.interval)
            results[design] = result
            print(json.dumps(result, indent=1))
    per_job, shared = results["per_job"], results["shared"]
    figures = {
        "jobs": args.jobs,
        "poll_interval_seconds": args.interval,
        "concurrency_level": CONCURRENCY,
        "run_seconds": [args.shortest, args.longest],
        "emulator_latency_seconds": LATENCY,
        "designs": results,
        "ratios_shared_to_per_job": {
            "api_calls": round(shared["api_calls"] / per_job["api_calls"], 4),
            "cpu_seconds": round(shared["cpu_seconds"] / per_job["cpu_seconds"], 3),
            "peak_memory": round(shared["peak_kb_per_job"] / per_job["peak_kb_per_job"], 3),
            "median_lag": round(shared["lag_seconds"]["median"] / per_job["lag_seconds"]["median"], 3),
        },
        "bar": "under 50 KB and under 1.5 API calls per poll interval per job, lag under one poll interval "
        "plus 1 s, never more than concurrency_level calls in flight",
    }
    save("watch_jobs", figures)


if __name__ == "__main__":
    main()
