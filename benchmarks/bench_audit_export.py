"""Benchmark: the memory of an audit-log export must not grow with the number of entries exported.

1,000 and 25,000 audit entries are seeded in the emulator (its own process), each set in its own time window
and under its own ``resourceType``; ``CeligoHook.export_audit_log`` then writes each window to a JSON-lines
file, page by page (page size 500: 2 and 50 pages), several rounds, alternating the sizes. Figures: the median
tracemalloc peak of the exporting process per size and their ratio (flat = about 1), the median seconds and
entries per second. The file must hold every entry.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from common import EmulatorProcess, airflow_home, median, quiet_logs, save, set_connection

PAGE_SIZE = 500
SIZES = (1_000, 25_000)
STEP_SECONDS = 1.0
# Each size gets its own window, far apart, and its own resourceType (the server filters on it first).
WINDOWS = {1_000: (1_700_000_000.0, "flow"), 25_000: (1_750_000_000.0, "export")}


def seed(emulator: EmulatorProcess, size: int) -> None:
    import requests

    start, kind = WINDOWS[size]
    body = {"count": size, "start": start, "step_seconds": STEP_SECONDS, "resource_type": kind}
    requests.post(f"{emulator.root_url}/_emulator/audit", json=body, timeout=120).raise_for_status()


def export_once(hook: Any, size: int, folder: Path) -> tuple[int, float, int]:
    """Export one window; return (entries written, seconds, tracemalloc peak bytes)."""
    from datetime import datetime, timezone

    start, kind = WINDOWS[size]
    since = datetime.fromtimestamp(start, tz=timezone.utc)
    until = datetime.fromtimestamp(start + size * STEP_SECONDS, tz=timezone.utc)
    target = folder / f"audit-{size}.jsonl"
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    began = time.perf_counter()
    summary = hook.export_audit_log(target, since=since, until=until, resource_type=kind)
    seconds = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    with target.open() as lines:
        written = sum(1 for _ in lines)
    assert written == summary["entries"] == size, (written, summary, size)
    return written, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="exports of each size, alternating")
    args = parser.parse_args()
    airflow_home()
    quiet_logs()
    with EmulatorProcess() as emulator, tempfile.TemporaryDirectory(prefix="celigo-audit-bench-") as folder:
        admin = emulator.admin
        admin.configure(bucket_size=10_000_000, refill_per_second=1_000_000.0, page_size=PAGE_SIZE)
        for size in SIZES:
            seed(emulator, size)
        conn_id = set_connection(emulator.base_url, concurrency_level=5)
        from airflow_provider_celigo.hooks.celigo import CeligoHook

        hook = CeligoHook(conn_id)
        hook.request("GET", "/tokenInfo")  # warm up the session and the connection
        runs: dict[int, list[tuple[int, float, int]]] = {size: [] for size in SIZES}
        for round_number in range(args.rounds):
            for size in SIZES:
                runs[size].append(export_once(hook, size, Path(folder)))
                _, seconds, peak = runs[size][-1]
                print(f"round {round_number + 1}: {size} entries in {seconds:.2f}s, peak {peak / 1024:.0f} KB")
        hook.close()
    sizes: dict[str, Any] = {}
    for size, measured in runs.items():
        peak_kb = median(peak / 1024 for _, _, peak in measured)
        seconds = median(seconds for _, seconds, _ in measured)
        sizes[str(size)] = {
            "entries": size,
            "pages": -(-size // PAGE_SIZE),
            "median_tracemalloc_peak_kb": round(peak_kb, 1),
            "median_seconds": round(seconds, 3),
            "entries_per_second": round(size / seconds),
            "peaks_kb": [round(peak / 1024, 1) for _, _, peak in measured],
        }
    small, large = sizes[str(SIZES[0])], sizes[str(SIZES[1])]
    ratio = large["median_tracemalloc_peak_kb"] / small["median_tracemalloc_peak_kb"]
    figures = {
        "page_size": PAGE_SIZE,
        "rounds": args.rounds,
        "sizes": sizes,
        "peak_ratio_25000_to_1000": round(ratio, 3),
        "bar": "the peak must not grow with the number of entries (ratio below 1.2)",
        "bar_met": ratio < 1.2,
    }
    print(
        f"median peak {small['median_tracemalloc_peak_kb']} KB at {SIZES[0]} entries, "
        f"{large['median_tracemalloc_peak_kb']} KB at {SIZES[1]} ({ratio:.2f} x)"
    )
    save("audit_export", figures)


if __name__ == "__main__":
    main()
