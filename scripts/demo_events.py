"""The parts of `make demo` that `airflow dags test` cannot show: lineage events and a DAG run by the watcher.

- ``lineage_report(events_file)``: the OpenLineage COMPLETE events that the example DAGs' Celigo tasks wrote
  through the file transport, as one line per task: inputs -> outputs (rows written).
- ``watcher_demo(base_url, token, admin)``: event-driven scheduling needs a scheduler and a triggerer, so this
  starts a real Airflow (api-server, scheduler, dag-processor, triggerer; the deployment harness of the
  source repository's end-to-end tests) with ``example_dags/example_celigo_flow_events.py``, starts the orders
  flow directly on the emulator (a plain ``POST /v1/flows/{id}/run``, as integrator.io's schedule would) and
  waits for the watching DAG to run, then stops everything.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin

ROOT = Path(__file__).resolve().parents[1]
WATCH_EXAMPLE = ROOT / "example_dags" / "example_celigo_flow_events.py"
WATCH_DAG = "example_celigo_flow_events"
ORDERS_FLOW_ID = "6650f0000000000000000001"
WATCH_TIMEOUT = 240.0


def lineage_report(events_file: Path) -> list[str]:
    """Return ``dag.task: input, ... -> output (n rows), ...`` for each COMPLETE event of a Celigo task."""
    if not events_file.exists():
        return ["no OpenLineage events were written (is apache-airflow-providers-openlineage installed?)"]
    lines = []
    for raw in events_file.read_text().splitlines():
        event = json.loads(raw) if raw.strip() else {}
        if event.get("eventType") != "COMPLETE" or "celigo" not in event.get("run", {}).get("facets", {}):
            continue
        inputs = ", ".join(f"{d['namespace']}/{d['name']}" for d in event.get("inputs", []))
        outputs = ", ".join(
            f"{d['namespace']}/{d['name']}"
            + (f" ({stats['rowCount']} rows)" if (stats := d.get("outputFacets", {}).get("outputStatistics")) else "")
            for d in event.get("outputs", [])
        )
        lines.append(f"{event['job']['name']}: {inputs or '-'} -> {outputs or '-'}")
    return lines


def watcher_demo(base_url: str, token: str, admin: EmulatorAdmin) -> bool:
    """Run the watcher example in a real deployment; return True when a run started outside Airflow ran it.

    Never raises: a deployment that fails to start is reported and counts as not run.
    """
    try:
        return _watch(base_url, token, admin)
    except Exception as error:
        print(f"  the watcher demo failed: {type(error).__name__}: {str(error)[:2000]}")
        return False


def _watch(base_url: str, token: str, admin: EmulatorAdmin) -> bool:
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from deployment import AirflowDeployment  # the end-to-end tests' deployment harness

    connection = {"conn_type": "celigo", "password": token, "extra": {"base_url": base_url}}
    env = {"AIRFLOW_CONN_CELIGO_DEFAULT": json.dumps(connection), "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False"}
    with tempfile.TemporaryDirectory(prefix="celigo-demo-watch-") as folder:
        dags = Path(folder) / "dags"
        dags.mkdir()
        (dags / WATCH_EXAMPLE.name).write_text(WATCH_EXAMPLE.read_text())
        print("Starting a real Airflow (scheduler, triggerer, dag-processor, api-server) for the watcher example...")
        with AirflowDeployment(dags, env=env, run_root=folder, stop_grace=5) as airflow:
            airflow.wait_for_dag(WATCH_DAG, timeout=180)
            deadline = time.monotonic() + WATCH_TIMEOUT
            while time.monotonic() < deadline and not _watcher_listed(admin):
                time.sleep(1)
            answer = requests.post(
                f"{base_url}/flows/{ORDERS_FLOW_ID}/run", headers={"Authorization": f"Bearer {token}"}, timeout=10
            )
            answer.raise_for_status()
            job_id = answer.json()["_jobId"]
            print(f"  started the orders flow on the emulator (outside Airflow): job {job_id}")
            runs: list[dict[str, Any]] = []
            while time.monotonic() < deadline:
                runs = airflow.query("SELECT run_id, state FROM dag_run WHERE dag_id = ?", (WATCH_DAG,))
                if any(run["state"] in ("success", "failed") for run in runs):
                    break
                time.sleep(1)
            done = [run for run in runs if run["state"] == "success"]
            print(f"  {WATCH_DAG}: {len(done)} run(s) triggered by the watcher: {[run['run_id'] for run in runs]}")
            return len(done) == 1


def _watcher_listed(admin: EmulatorAdmin) -> bool:
    return any(
        entry["method"] == "GET" and entry["path"] == "/v1/jobs" and ORDERS_FLOW_ID in entry.get("query", "")
        for entry in admin.requests_log()
    )
