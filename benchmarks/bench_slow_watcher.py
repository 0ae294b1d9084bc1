"""Benchmark 5: one slow job read among 1,000 and 10,000 watched jobs in one triggerer-like event loop.

The emulator (its own process, clock speed 1) runs N one-export-one-import flows, 60 to 120 s each. A fresh
worker process runs N ``CeligoJobTrigger`` through the shared poller until every trigger has fired, twice:

- ``baseline``: N flow jobs;
- ``slow``: the same, plus one more watcher on a step job (the export job of the first run), read alone with
  ``GET /jobs/{id}``, which the emulator answers in 4 s (within the hook's timeout).

Figures per run: peak memory added per watched job, API calls per poll interval per job, and the lag of the
flow-job watchers (event fired minus the job's ``endedAt``): median and p99. The figure of merit is the ratio
of the slow run's lag to the baseline's: a slow read must delay only its own watcher.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_watch_jobs import LATENCY, PeakRss, _ended_at, durations, percentile, start_runs, warm_up
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

SIZES = (1000, 10000)
POLL_INTERVAL = 10.0
CONCURRENCY = 5
SHORTEST, LONGEST = 60.0, 120.0
SLOW_READ_SECONDS = 4.0
CASES = ("baseline", "slow")


def export_job_of(conn_id: str, flow_job_id: str) -> str:
    """Return the id of the export step job of a flow job (``GET /jobs/{id}/family``)."""
    from airflow_provider_celigo.hooks.celigo import CeligoHook

    for _ in range(100):
        family = CeligoHook(conn_id).get_job_family(flow_job_id)
        for child in family.get("children") or []:
            if child.get("type") == "export":
                return str(child["_id"])
        time.sleep(0.1)
    raise RuntimeError(f"flow job {flow_job_id} has no export job")


async def watch(
    jobs: dict[str, str | None], conn_id: str, interval: float
) -> dict[str, tuple[float, float, dict[str, Any]]]:
    """Run one shared-poller trigger per job; return ``{job id: (registered, fired, event)}``."""
    from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

    async def one(job_id: str, flow_id: str | None) -> tuple[str, tuple[float, float, dict[str, Any]]]:
        trigger = CeligoJobTrigger(job_id=job_id, flow_id=flow_id, celigo_conn_id=conn_id, poll_interval=interval)
        registered = time.time()
        async for event in trigger.run():
            return job_id, (registered, time.time(), event.payload)
        raise RuntimeError("the trigger ended without an event")

    return dict(await asyncio.gather(*(one(job_id, flow_id) for job_id, flow_id in jobs.items())))


def worker(case: str, root_url: str, count: int, interval: float) -> dict[str, Any]:
    """Measure one case in this (fresh) process."""
    airflow_home()
    quiet_logs()
    from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin

    admin = EmulatorAdmin(root_url, timeout=600)
    conn_id = set_connection(f"{root_url}/v1", CONCURRENCY)
    warm_up(conn_id)
    started = start_runs(conn_id, flow_ids(count))
    jobs: dict[str, str | None] = dict(started)
    slow_job = None
    if case == "slow":
        slow_job = export_job_of(conn_id, next(iter(started)))
        jobs[slow_job] = None  # a step job: the poller reads it alone, with GET /jobs/{id}
        routes = [{"path": f"^/v1/jobs/{slow_job}$", "latency": SLOW_READ_SECONDS}]
        admin.set_faults({"routes": [*routes, {"prefix": "/v1/jobs", "latency": LATENCY}]})
    gc.collect()
    calls_before = admin.stats()["requests_total"]
    rss_before = rss_bytes()
    wall_before = time.time()
    with PeakRss() as peak:
        results = asyncio.run(watch(jobs, conn_id, interval))
    wall = time.time() - wall_before
    calls = admin.stats()["requests_total"] - calls_before
    admin.close()
    lags = [
        fired - ended
        for job_id, (_, fired, event) in results.items()
        if job_id != slow_job and (ended := _ended_at(event)) is not None
    ]
    watched = sum(fired - registered for registered, fired, _ in results.values())
    return {
        "case": case,
        "jobs": len(results),
        "events": sorted({event["status"] for _, _, event in results.values()}),
        "wall_seconds": round(wall, 1),
        "peak_kb_per_job": round((peak.peak - rss_before) / 1024 / len(results), 1),
        "api_calls_per_poll_interval_per_job": round(calls / (watched / interval), 4),
        "others_lag_seconds": {
            "median": round(median(lags), 2),
            "p99": round(percentile(lags, 0.99), 2),
            "max": round(max(lags), 2),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--interval", type=float, default=POLL_INTERVAL)
    parser.add_argument("--worker", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--root-url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        Path(args.out).write_text(json.dumps(worker(args.worker, args.root_url, args.jobs, args.interval)))
        return
    figures: dict[str, Any] = {
        "poll_interval_seconds": args.interval,
        "concurrency_level": CONCURRENCY,
        "run_seconds": [SHORTEST, LONGEST],
        "slow_read_seconds": SLOW_READ_SECONDS,
        "emulator_latency_seconds": LATENCY,
        "sizes": {},
        "bar": "the other watchers' lag with one slow read stays that of the baseline (ratio near 1), and under "
        "one poll interval plus 1 s",
    }
    with EmulatorProcess() as emulator, tempfile.TemporaryDirectory() as tmp:
        for count in args.sizes:
            results: dict[str, Any] = {}
            for case in CASES:
                admin = emulator.admin
                admin.reset()
                admin.configure(bucket_size=10_000_000, refill_per_second=1_000_000.0, clock_speed=1.0)
                admin.set_faults({"routes": [{"prefix": "/v1/jobs", "latency": LATENCY}]})
                admin.seed(flows_dump(durations(count, SHORTEST, LONGEST)))
                out = Path(tmp) / f"{case}-{count}.json"
                command = [sys.executable, __file__, "--worker", case, "--root-url", emulator.root_url]
                options = ["--jobs", str(count), "--interval", str(args.interval), "--out", str(out)]
                subprocess.run([*command, *options], check=True)
                results[case] = json.loads(out.read_text())
                print(json.dumps(results[case]), flush=True)
            base, slow = results["baseline"]["others_lag_seconds"], results["slow"]["others_lag_seconds"]
            results["lag_ratio_slow_to_baseline"] = {
                "median": round(slow["median"] / base["median"], 3) if base["median"] else None,
                "p99": round(slow["p99"] / base["p99"], 3) if base["p99"] else None,
            }
            figures["sizes"][str(count)] = results
    save("slow_watcher", figures)


if __name__ == "__main__":
    main()
