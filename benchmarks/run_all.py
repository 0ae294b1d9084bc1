"""Run every benchmark (``make bench``), each in a fresh interpreter, then refresh the figures in README.md.

Writes ``benchmarks/results/<name>.json`` per benchmark and ``results/run_all.json`` (durations, load),
and rewrites the block between the ``figures`` markers of ``benchmarks/README.md`` from those results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from common import BENCHMARKS, RESULTS, machine, save

SCRIPTS = (
    "bench_parse_time.py",
    "bench_watch_jobs.py",
    "bench_rate_limit.py",
    "bench_hook_overhead.py",
    "bench_audit_export.py",
)
START, END = "<!-- figures:start -->", "<!-- figures:end -->"


def load(name: str) -> dict[str, Any]:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def yes(flag: bool) -> str:
    return "met" if flag else "**missed**"


def parse_time_lines(result: dict[str, Any]) -> list[str]:
    providers = result["providers"]
    lines = [
        f"### 1. Parse-time cost (`{result['command']}`)",
        "",
        f"Medians of {result['runs']} fresh interpreters (tracemalloc: {result['traced_runs']}), on top of "
        f"`import airflow.sdk` (itself {providers['airflow.sdk only']['median_airflow_sdk_import_ms']} ms).",
        "",
        "| provider | extra import time | extra max RSS | tracemalloc peak | modules | notable modules |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in providers.items():
        if name == "airflow.sdk only":
            continue
        lines.append(
            f"| {name} | {row['median_import_ms']} ms | {row['median_max_rss_added_kb']:.0f} KB | "
            f"{row['median_tracemalloc_peak_kb']:.0f} KB | {row['modules_loaded']} | "
            f"{', '.join(row['notable_modules_loaded']) or '-'} |"
        )
    ratio = result["celigo_vs_lightest"]
    lines += [
        "",
        f"Bar: {result['bar']}: {yes(result['bar_met'])} (time {ratio['import_time_ratio']} x, "
        f"memory {ratio['tracemalloc_ratio']} x the lightest).",
    ]
    return lines


def watch_jobs_lines(result: dict[str, Any]) -> list[str]:
    designs = result["designs"]
    lines = [
        f"### 2. Watching {result['jobs']} jobs (`{result['command']}`)",
        "",
        f"Poll interval {result['poll_interval_seconds']:g} s, concurrency level {result['concurrency_level']}, "
        f"runs of {result['run_seconds'][0]:g}-{result['run_seconds'][1]:g} s, emulator latency "
        f"{result['emulator_latency_seconds'] * 1000:g} ms per job read.",
        "",
        "| design | KB per job (peak RSS) | CPU s | API calls | calls / interval / job | lag median / p95 / max "
        "| peak in flight | events |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in designs.items():
        lag = row["lag_seconds"]
        lines.append(
            f"| {name} | {row['peak_kb_per_job']} | {row['cpu_seconds']} | {row['api_calls']} | "
            f"{row['api_calls_per_poll_interval_per_job']} | {lag['median']} / {lag['p95']} / {lag['max']} s | "
            f"{row['peak_requests_in_flight']} | {row['events']} |"
        )
    ratios = result["ratios_shared_to_per_job"]
    lines += [
        "",
        f"Shared / per-job: API calls {ratios['api_calls']} x, CPU {ratios['cpu_seconds']} x, memory "
        f"{ratios['peak_memory']} x, median lag {ratios['median_lag']} x.",
        "",
    ]
    for name, row in designs.items():
        met = ", ".join(f"{bar.replace('_', ' ')}: {yes(flag)}" for bar, flag in row["bars"].items())
        lines.append(f"- {name}: {met}")
    return lines


def rate_limit_lines(result: dict[str, Any]) -> list[str]:
    summary = result["summary"]
    lines = [
        f"### 3. Pacing against the rate limit (`{result['command']}`)",
        "",
        f"{result['calls']} calls from {result['threads']} threads, bucket {result['bucket_size']} refilled at "
        f"{result['refill_per_second']:g}/s: theoretical minimum {result['theoretical_minimum_seconds']:g} s. "
        "Medians of the runs.",
        "",
        "| mode | seconds | / minimum | 429 answers | failed calls |",
        "|---|---|---|---|---|",
    ]
    for name, row in summary.items():
        lines.append(
            f"| {name} | {row['median_seconds']} | {row['median_ratio_to_minimum']} | "
            f"{row['median_answers_429']:g} | {row['failed_calls']} |"
        )
    lines += ["", f"Bar: {result['bar']}: {yes(result['bar_met'])} (with the pacer, the default)."]
    return lines


def hook_overhead_lines(result: dict[str, Any]) -> list[str]:
    gets, listing = result["sequential_gets"], result["listing"]
    sizes = listing["sizes"]
    lines = [
        f"### 4. The hook's overhead (`{result['command']}`)",
        "",
        f"{gets['calls']} sequential GETs, medians of {gets['rounds']} alternating rounds: hook (kept-alive "
        f"session) {gets['hook_kept_alive_median_seconds']} s ({gets['hook_ms_per_call']} ms/call), a new "
        f"connection each {gets['new_connection_each_median_seconds']} s ({gets['new_connection_ms_per_call']} "
        f"ms/call): ratio {gets['ratio_new_connection_to_hook']}.",
        "",
        f"Listing through `paginate` (page size {listing['page_size']}), tracemalloc peak while iterating: "
        + ", ".join(
            f"{size} items {row['tracemalloc_peak_kb']} KB in {row['seconds']} s" for size, row in sizes.items()
        )
        + f"; ratio {listing['peak_ratio_100k_to_10k']}: {yes(listing['bar_met'])} ({listing['bar']}).",
    ]
    return lines


def audit_export_lines(result: dict[str, Any]) -> list[str]:
    lines = [
        f"### 6. Audit-log export memory (`{result['command']}`)",
        "",
        f"Page size {result['page_size']}; medians of {result['rounds']} rounds.",
        "",
        "| entries | pages | tracemalloc peak | time |",
        "|---|---|---|---|",
    ]
    for row in result["sizes"].values():
        lines.append(
            f"| {row['entries']:,} | {row['pages']} | {row['median_tracemalloc_peak_kb']:.0f} KB | "
            f"{row['median_seconds']:.2f} s |"
        )
    lines += ["", f"Bar: {result['bar']}: {yes(result['bar_met'])} ({result['peak_ratio_25000_to_1000']} x)."]
    return lines


def figures_block() -> str:
    lines = []
    total = load("run_all")
    if total:
        info = total["machine"]
        lines += [
            f"Latest `make bench`: {info['date']}, {total['total_seconds']:.0f} s in all; {info['cpu_count']} CPUs, "
            f"Python {info['python']}, Airflow {info['airflow']}, provider {info['provider']}; load average "
            f"{total['load_average_before']} before, {info['load_average']} after (colleagues' test runs share "
            "the machine).",
            "",
        ]
    for name, render in (
        ("parse_time", parse_time_lines),
        ("watch_jobs", watch_jobs_lines),
        ("rate_limit", rate_limit_lines),
        ("hook_overhead", hook_overhead_lines),
        ("audit_export", audit_export_lines),
    ):
        result = load(name)
        if result:
            lines += [*render(result), ""]
    return "\n".join(lines).rstrip() + "\n"


def refresh_readme() -> None:
    readme = BENCHMARKS / "README.md"
    text = readme.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    readme.write_text(f"{head}{START}\n{figures_block()}{END}{tail}")


def main() -> None:
    load_before = [round(value, 2) for value in os.getloadavg()]
    durations: dict[str, float] = {}
    began = time.monotonic()
    for script in SCRIPTS:
        print(f"\n=== {script} ===", flush=True)
        started = time.monotonic()
        subprocess.run([sys.executable, str(BENCHMARKS / script)], check=True, cwd=BENCHMARKS.parent)
        durations[script] = round(time.monotonic() - started, 1)
    total = time.monotonic() - began
    save(
        "run_all",
        {"total_seconds": round(total, 1), "seconds_per_script": durations, "load_average_before": load_before},
    )
    refresh_readme()
    print(f"\nall benchmarks in {total:.0f} s; figures refreshed in benchmarks/README.md; machine: {machine()}")


if __name__ == "__main__":
    main()
