"""Benchmark 4: the hook's own overhead, and the memory of a long listing.

- 2,000 sequential ``GET /tokenInfo`` through ``CeligoHook.request`` (one kept-alive session) against
  2,000 ``requests.get`` with the same headers (a new connection each), alternating over several
  rounds; the ratio of the medians.
- The tracemalloc peak while ``CeligoHook.paginate("/tags")`` walks 10,000 and then 100,000 seeded tags
  (page size 1,000) without keeping them: it must not grow with the length of the listing.
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from typing import Any

from common import EmulatorProcess, airflow_home, median, quiet_logs, save, set_connection

CALLS = 2000
PAGE_SIZE = 1000
SIZES = (10_000, 100_000)


def kept_alive(hook: Any, calls: int) -> float:
    began = time.perf_counter()
    for _ in range(calls):
        hook.request("GET", "/tokenInfo")
    return time.perf_counter() - began


def new_connection_each(url: str, headers: dict[str, str], calls: int) -> float:
    import requests

    began = time.perf_counter()
    for _ in range(calls):
        response = requests.get(url, headers=headers, timeout=30)
        response.raise_for_status()
        response.json()
    return time.perf_counter() - began


def tags(start: int, count: int) -> list[dict[str, Any]]:
    return [{"_id": f"6650b2{n:018x}", "tag": f"tag-{n}", "name": f"tag {n}"} for n in range(start, start + count)]


def listing_peak(hook: Any) -> tuple[int, float, int]:
    """Walk ``/tags`` without keeping items; return (items, seconds, tracemalloc peak bytes)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    began = time.perf_counter()
    count = sum(1 for _ in hook.paginate("/tags"))
    seconds = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of both clients")
    args = parser.parse_args()
    airflow_home()
    quiet_logs()
    with EmulatorProcess() as emulator:
        admin = emulator.admin
        admin.configure(bucket_size=10_000_000, refill_per_second=1_000_000.0, page_size=PAGE_SIZE)
        conn_id = set_connection(emulator.base_url, concurrency_level=5)
        from airflow_provider_celigo.hooks._transport.clients import auth_headers
        from airflow_provider_celigo.hooks.celigo import CeligoHook

        hook = CeligoHook(conn_id)
        headers = auth_headers(hook.settings)
        url = f"{emulator.base_url}/tokenInfo"
        kept_alive(hook, 50)  # warm up both paths
        new_connection_each(url, headers, 50)
        hook_times: list[float] = []
        fresh_times: list[float] = []
        for _ in range(args.rounds):
            hook_times.append(kept_alive(hook, CALLS))
            fresh_times.append(new_connection_each(url, headers, CALLS))
            print(f"{CALLS} GETs: hook {hook_times[-1]:.2f}s, new connection each {fresh_times[-1]:.2f}s")

        listings: dict[str, Any] = {}
        seeded = 0
        for size in SIZES:
            admin.seed({"tags": tags(seeded, size - seeded)})
            seeded = size
            count, seconds, peak = listing_peak(hook)
            assert count == size, (count, size)
            listings[str(size)] = {"items": count, "seconds": round(seconds, 2), "tracemalloc_peak_kb": peak // 1024}
            print(f"listing {count} tags: {seconds:.1f}s, tracemalloc peak {peak / 2**20:.2f} MiB")
        hook.close()
    small, large = listings[str(SIZES[0])], listings[str(SIZES[1])]
    hook_median, fresh_median = median(hook_times), median(fresh_times)
    growth = large["tracemalloc_peak_kb"] / small["tracemalloc_peak_kb"]
    figures = {
        "sequential_gets": {
            "calls": CALLS,
            "rounds": args.rounds,
            "hook_kept_alive_median_seconds": round(hook_median, 3),
            "new_connection_each_median_seconds": round(fresh_median, 3),
            "hook_ms_per_call": round(hook_median * 1000 / CALLS, 3),
            "new_connection_ms_per_call": round(fresh_median * 1000 / CALLS, 3),
            "ratio_new_connection_to_hook": round(fresh_median / hook_median, 3),
            "hook_times": [round(value, 3) for value in hook_times],
            "new_connection_times": [round(value, 3) for value in fresh_times],
        },
        "listing": {
            "page_size": PAGE_SIZE,
            "sizes": listings,
            "peak_ratio_100k_to_10k": round(growth, 3),
            "bar": "the peak must not grow with the listing (ratio about 1)",
            "bar_met": growth < 1.2,
        },
    }
    save("hook_overhead", figures)


if __name__ == "__main__":
    main()
