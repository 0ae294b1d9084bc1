"""The assets, events, lineage and health-gate example DAGs through ``airflow dags test`` against the emulator.

``airflow dags test`` runs a DAG's tasks only: the watcher and the asset schedule themselves are proven in a
real deployment (test_events_deployment.py); here each example must parse, run and do what it says.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from airflow_provider_celigo.testing.dags import AirflowHome, DagTestResult
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"


def run_example(home: AirflowHome, dag_id: str, file_name: str | None = None) -> DagTestResult:
    result = home.dags_test(dag_id, EXAMPLES / f"{file_name or dag_id}.py", timeout=240)
    assert not result.timed_out, result.describe()
    return result


def test_flow_events_example_parses_with_its_watcher(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result = run_example(celigo_home, "example_celigo_flow_events")
    assert result.states == {"report_runs": "success"}, result.describe()
    assert result.xcom("report_runs") == []  # dags test: no asset event triggered it
    with sqlite3.connect(celigo_home.database) as db:
        (serialized,) = db.execute(
            "SELECT data FROM serialized_dag WHERE dag_id = 'example_celigo_flow_events'"
        ).fetchone()
    assert "airflow_provider_celigo.triggers.events.CeligoFlowRunEventTrigger" in serialized
    assert f"/flows/{DEMO_IDS['flow_orders']}/runs" in serialized


def test_asset_schedule_example_emits_the_flow_asset(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result = run_example(celigo_home, "example_celigo_asset_schedule")
    assert result.states == {"run_customers_flow": "success"}, result.describe()
    with sqlite3.connect(celigo_home.database) as db:
        rows = db.execute(
            "SELECT asset.uri, asset_event.extra FROM asset_event JOIN asset ON asset.id = asset_event.asset_id"
        ).fetchall()
    assert [uri for uri, _extra in rows] == [
        f"celigo://{emulator.base_url.split('://')[1].removesuffix('/v1')}/flows/{DEMO_IDS['flow_customers']}"
    ]
    assert json.loads(rows[0][1])["job_ids"] == result.xcom("run_customers_flow")["job_ids"]
    downstream = run_example(celigo_home, "example_celigo_after_customers", "example_celigo_asset_schedule")
    assert downstream.states == {"load_customers": "success"}, downstream.describe()


def test_lineage_example_runs(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    events = celigo_home.root / "openlineage.jsonl"
    celigo_home.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
        {"type": "file", "log_file_path": str(events), "append": True}
    )
    result = run_example(celigo_home, "example_celigo_lineage")
    assert set(result.states.values()) == {"success"}, result.describe()
    complete = [
        json.loads(line)
        for line in events.read_text().splitlines()
        if '"COMPLETE"' in line and "example_celigo_lineage.run_marketing_segments" in line
    ]
    (marketing,) = complete
    assert len(marketing["inputs"]) == len(marketing["outputs"]) == 6  # six one-export, one-import flows
    assert len(marketing["run"]["facets"]["celigo"]["jobIds"]) == 6


def test_health_gate_example(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result = run_example(celigo_home, "example_celigo_health_gate")
    assert result.states == {"marketing_integration_healthy": "success", "run_vip_segment_flow": "success"}, (
        result.describe()
    )
    assert result.xcom("marketing_integration_healthy")["open_errors"] == 0
