"""Benchmark 3: pacing against the rate limit.

2,000 ``GET /tokenInfo`` calls through ``CeligoHook`` from 8 threads against the emulator's leaky bucket
(size 100, refilled at 100 per second): total time against the theoretical minimum
((2000 - 100) / 100 = 19 s), 429 answers seen and failed calls, with and without the pacer. The pacer is
switched with the Airflow option ``[celigo] pace_after_429`` (``AIRFLOW__CELIGO__PACE_AFTER_429``), which the
hooks read once per process until ``pacing.reset()``.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from typing import Any

from common import EmulatorProcess, airflow_home, median, quiet_logs, save, set_connection

CALLS = 2000
THREADS = 8
BUCKET = 100
REFILL = 100.0


def hammer(conn_id: str, calls: int, threads: int) -> dict[str, Any]:
    """Make ``calls`` calls from ``threads`` threads (one hook each); return time and failures."""
    from airflow_provider_celigo.hooks.celigo import CeligoHook

    failures: list[str] = []
    share = [calls // threads + (1 if n < calls % threads else 0) for n in range(threads)]
    start = threading.Barrier(threads + 1)

    def work(count: int) -> None:
        hook = CeligoHook(conn_id)
        assert hook.settings.concurrency_level >= threads  # reads the connection before the clock starts
        start.wait()
        for _ in range(count):
            try:
                hook.request("GET", "/tokenInfo")
            except Exception as error:
                failures.append(f"{type(error).__name__}: {error}")
        hook.close()

    workers = [threading.Thread(target=work, args=(count,)) for count in share]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return {"seconds": time.perf_counter() - began, "failed": len(failures), "first_failures": failures[:3]}


def one_run(emulator: EmulatorProcess, conn_id: str, paced: bool) -> dict[str, Any]:
    from airflow_provider_celigo.hooks._transport import pacing

    admin = emulator.admin
    admin.configure(bucket_size=BUCKET, refill_per_second=REFILL)
    admin.reset()  # an empty request log (it keeps the last 10,000) and a full bucket
    os.environ["AIRFLOW__CELIGO__PACE_AFTER_429"] = str(paced)
    pacing.reset()  # forget earlier pauses, and read the option again
    assert pacing.pacing_enabled() is paced
    result = hammer(conn_id, CALLS, THREADS)
    log = admin.requests_log()
    minimum = (CALLS - BUCKET) / REFILL
    result.update(
        {
            "paced": paced,
            "answers_429": sum(1 for entry in log if entry["status"] == 429),
            "answers_200": sum(1 for entry in log if entry["status"] == 200),
            "theoretical_minimum_seconds": minimum,
            "ratio_to_minimum": result["seconds"] / minimum,
        }
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="runs of each mode (median reported)")
    args = parser.parse_args()
    airflow_home()
    quiet_logs()
    runs: list[dict[str, Any]] = []
    with EmulatorProcess() as emulator:
        conn_id = set_connection(emulator.base_url, concurrency_level=THREADS)  # default retry budget
        for _ in range(args.runs):
            for paced in (False, True):
                run = one_run(emulator, conn_id, paced)
                mode = "paced" if paced else "plain"
                print(
                    f"{mode}: {run['seconds']:.2f}s = {run['ratio_to_minimum']:.3f} x minimum, "
                    f"{run['answers_429']} answers 429, {run['failed']} failed"
                )
                runs.append(run)
    summary: dict[str, Any] = {}
    for mode, paced in (("plain", False), ("paced", True)):
        mine = [run for run in runs if run["paced"] is paced]
        summary[mode] = {
            "median_seconds": round(median(run["seconds"] for run in mine), 3),
            "median_ratio_to_minimum": round(median(run["ratio_to_minimum"] for run in mine), 4),
            "median_answers_429": median(run["answers_429"] for run in mine),
            "failed_calls": sum(run["failed"] for run in mine),
        }
    figures = {
        "calls": CALLS,
        "threads": THREADS,
        "bucket_size": BUCKET,
        "refill_per_second": REFILL,
        "theoretical_minimum_seconds": (CALLS - BUCKET) / REFILL,
        "summary": summary,
        "bar": "within 10% of the theoretical minimum (ratio <= 1.10) with zero failed calls",
        "bar_met": summary["paced"]["median_ratio_to_minimum"] <= 1.10 and summary["paced"]["failed_calls"] == 0,
        "runs": runs,
    }
    save("rate_limit", figures)


if __name__ == "__main__":
    main()
