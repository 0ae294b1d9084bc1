"""`make demo`: run every example DAG through a real Airflow against the local integrator.io emulator.

1. starts ``celigo-emulator --seed demo`` on a free loopback port (the command users run themselves),
2. makes a temporary AIRFLOW_HOME on SQLite under ``.demo/`` with the ``celigo_default`` connection,
3. creates the connection's pool with ``airflow-celigo pools sync``,
4. runs each example DAG with ``airflow dags test`` and prints a report per DAG (tasks, jobs, records,
   duration, outcome), then stops everything it started.

Exits non-zero when a DAG did not end the way it should (the failure-handling example has expected failures).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_celigo.testing.dags import AirflowHome, DagTestResult, migrate_template_db
from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin

sys.path.insert(0, str(Path(__file__).resolve().parent))
from demo_events import lineage_report, watcher_demo

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "example_dags"
WORK = ROOT / ".demo"
CLOCK_SPEED = 10  # emulated seconds per real second: the 60-second inventory flow takes 6 s
START_TIMEOUT = 20.0

#: dag id -> the tasks that are meant to fail in it (every other task must succeed).
EXAMPLE_DAGS: dict[str, set[str]] = {
    "example_celigo_run_flows": set(),
    "example_celigo_deferrable_and_sensor": set(),
    "example_celigo_deploy_integration": set(),
    "example_celigo_resources_as_code": set(),
    "example_celigo_fan_out": set(),
    "example_celigo_feed_from_warehouse": set(),
    "example_celigo_failure_handling": {"invoices_policy_fail", "refunds_fail_with_retry"},
    "example_celigo_asset_schedule": set(),
    "example_celigo_lineage": set(),
    "example_celigo_health_gate": set(),
    "example_celigo_flow_events": set(),  # its tasks only: the watcher itself runs in watcher_demo below
}


@dataclass
class Report:
    dag_id: str
    tasks: str
    jobs: int
    records: int
    errors: int
    seconds: float
    outcome: str
    ok: bool


def start_emulator() -> tuple[subprocess.Popen[str], str, str]:
    """Start ``celigo-emulator`` and return the process, its API base URL and the accepted token."""
    command = [str(Path(sys.executable).with_name("celigo-emulator")), "--port", "0", "--seed", "demo"]
    command += ["--clock-speed", str(CLOCK_SPEED)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    base_url = token = ""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and not (base_url and token):
        line = process.stdout.readline()
        if not line:
            break
        print(f"  emulator: {line.rstrip()}")
        if "serving" in line:
            base_url = line.split()[-1]
        elif "token" in line.lower():
            token = line.split()[-1]
    if not (base_url and token):
        process.kill()
        raise SystemExit("the emulator did not start; run `celigo-emulator --seed demo` to see why")
    return process, base_url, token


def summarize(dag_id: str, result: DagTestResult, new_jobs: list[dict[str, Any]], expected: set[str]) -> Report:
    """Return the report line of one DAG run: did every task end as it should?"""
    tasks = result.tasks
    failed = {task.task_id for task in tasks.values() if task.state != "success"}
    counts: dict[str, int] = {}
    for task in tasks.values():
        counts[task.state or "none"] = counts.get(task.state or "none", 0) + 1
    ok = not result.timed_out and failed == expected
    if result.timed_out:
        outcome = "TIMED OUT"
    elif ok:
        outcome = "succeeded" + (f" ({len(expected)} expected failures)" if expected else "")
    else:
        outcome = f"UNEXPECTED: failed {sorted(failed - expected)}, should fail {sorted(expected - failed)}"
    return Report(
        dag_id=dag_id,
        tasks=", ".join(f"{n} {state}" for state, n in sorted(counts.items())),
        jobs=len(new_jobs),
        records=sum(int(job.get("numSuccess", 0)) for job in new_jobs),
        errors=sum(int(job.get("numError", 0)) for job in new_jobs),
        seconds=result.seconds,
        outcome=outcome,
        ok=ok,
    )


def print_table(reports: list[Report], total_seconds: float) -> None:
    header = f"{'DAG':<40} {'tasks':<28} {'jobs':>4} {'records':>7} {'errors':>6} {'time':>6}  outcome"
    print("\n" + header + "\n" + "-" * len(header))
    for r in reports:
        print(f"{r.dag_id:<40} {r.tasks:<28} {r.jobs:>4} {r.records:>7} {r.errors:>6} {r.seconds:>5.1f}s  {r.outcome}")
    print(f"\n{sum(r.ok for r in reports)}/{len(reports)} example DAGs ended as expected in {total_seconds:.0f}s.")


def main() -> int:
    started = time.monotonic()
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    print("Starting the local integrator.io emulator (demo account)...")
    emulator, base_url, token = start_emulator()
    try:
        admin = EmulatorAdmin(base_url.removesuffix("/v1"))
        print("Preparing a temporary Airflow home on SQLite (airflow db migrate)...")
        home = AirflowHome(WORK / "airflow", migrate_template_db(WORK / "template"))
        home.set_connection(
            "celigo_default",
            {"conn_type": "celigo", "password": token, "extra": {"base_url": base_url, "concurrency_level": 5}},
        )
        lineage_file = WORK / "openlineage.jsonl"  # every Celigo task's OpenLineage events (file transport)
        home.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
            {"type": "file", "log_file_path": str(lineage_file), "append": True}  # one file, a JSON event per line
        )
        sync = subprocess.run(
            [str(Path(sys.executable).with_name("airflow-celigo")), "pools", "sync"],
            env=home.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        pool_lines = [line for line in sync.stdout.splitlines() if line.split(" ")[0] in {"create", "resize", "ok"}]
        print("Pool for the connection: " + ("; ".join(pool_lines) or f"sync failed: {sync.stderr.strip()}"))
        reports = []
        for dag_id, expected in EXAMPLE_DAGS.items():
            print(f"Running {dag_id} ...", flush=True)
            known = {job["_id"] for job in admin.jobs()}
            result = home.dags_test(dag_id, EXAMPLES / f"{dag_id}.py", timeout=300)
            new_jobs = [job for job in admin.jobs() if job["_id"] not in known and job.get("type") == "flow"]
            reports.append(summarize(dag_id, result, new_jobs, expected))
            if dag_id == "example_celigo_deploy_integration" and reports[-1].ok:
                deployed = result.xcom("report") or {}
                print(
                    f"  new integration {deployed.get('integration_id')}: registered connections "
                    + ", ".join(deployed.get("registered_connection_ids") or ["none"])
                )
            if not reports[-1].ok:
                print(result.describe())
                print(f"  full output: {home.runs_folder}")
        leaked = token in home.all_logs_text()
        print("\nLineage (OpenLineage COMPLETE events, inputs -> outputs per task):")
        print("\n".join(f"  {line}" for line in lineage_report(lineage_file)))
        watched = watcher_demo(base_url, token, admin)
        reports.append(
            Report("watcher (real scheduler+triggerer)", "-", 1, 0, 0, 0.0, "ran" if watched else "NO RUN", watched)
        )
        print_table(reports, time.monotonic() - started)
        print(f"Emulator: {sum(admin.runs().values())} flow runs in all; API token in any log: {leaked}.")
        print(f"Logs and outputs of each run: {home.runs_folder}")
        return 0 if all(r.ok for r in reports) and not leaked else 1
    finally:
        os.killpg(emulator.pid, 15)
        emulator.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
