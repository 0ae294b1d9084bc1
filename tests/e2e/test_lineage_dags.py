"""OpenLineage events and asset events of the run operator, through ``airflow dags test`` and the file transport.

The OpenLineage provider is installed (``test`` extra) and writes every event to a file; the assertions
read those events: one input per export, one output per import with the documented names
(docs/lineage.md), output statistics equal to the job family's counts, the job ids, and the error of a
failing flow. The flow asset's event (its extra: job ids and counts) is read from the metadata DB.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import airflow.providers.openlineage  # noqa: F401  (the test extra installs it; its absence is a failure)
import pytest
import requests
from figures import record

from airflow_provider_celigo.testing.dags import AirflowHome
from airflow_provider_celigo.testing.emulator.seeds import DEFAULT_TOKEN, DEMO_IDS

if TYPE_CHECKING:
    from airflow_provider_celigo.testing.emulator.server import EmulatorServer


DAG_FILE = Path(__file__).parent / "dags" / "lineage_dag.py"
pytestmark = pytest.mark.e2e


def api(emulator: EmulatorServer, method: str, path: str, body: Any = None) -> Any:
    answer = requests.request(
        method,
        f"{emulator.base_url}{path}",
        json=body,
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json() if answer.content else None


def events_of(path: Path, task: str) -> dict[str, dict[str, Any]]:
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {event["eventType"]: event for event in events if event["job"]["name"] == f"celigo_lineage.{task}"}


def test_complete_and_fail_events_name_the_flow_steps(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    warehouse = DEMO_IDS["import_customers_warehouse"]
    document = api(emulator, "GET", f"/imports/{warehouse}")
    document["rdbms"] = {"bulkInsert": {"tableName": "ANALYTICS.PUBLIC.CUSTOMERS"}}
    api(emulator, "PUT", f"/imports/{warehouse}", {k: v for k, v in document.items() if not k.startswith("last")})
    events_file = celigo_home.root / "openlineage.jsonl"
    celigo_home.env["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
        {"type": "file", "log_file_path": str(events_file), "append": True}
    )
    celigo_home.env["AIRFLOW__OPENLINEAGE__NAMESPACE"] = "celigo-tests"

    result = celigo_home.dags_test("celigo_lineage", DAG_FILE, timeout=120)
    info = result.describe()
    assert result.states == {"run_customers": "success", "run_refunds": "failed"}, info
    host = emulator.base_url.split("://", 1)[1].removesuffix("/v1")

    complete = events_of(events_file, "run_customers")["COMPLETE"]
    shopify, netsuite = DEMO_IDS["conn_shopify"], DEMO_IDS["conn_netsuite"]
    assert [(d["namespace"], d["name"]) for d in complete["inputs"]] == [
        (f"celigo://{host}", f"connections/{shopify}/exports/{DEMO_IDS['export_customers']}")
    ]
    outputs = {(d["namespace"], d["name"]): d for d in complete["outputs"]}
    assert sorted(outputs) == sorted(
        [
            (f"celigo://{host}", f"connections/{netsuite}/imports/{DEMO_IDS['import_customers']}"),
            ("snowflake://demo", "ANALYTICS.PUBLIC.CUSTOMERS"),
        ]
    )
    summary = result.xcom("run_customers")
    family = api(emulator, "GET", f"/jobs/{summary['job_id']}/family")
    imported = {child["_importId"]: child["numSuccess"] for child in family["children"] if child["type"] == "import"}
    rows = {name: d["outputFacets"]["outputStatistics"]["rowCount"] for (_ns, name), d in outputs.items()}
    assert rows["ANALYTICS.PUBLIC.CUSTOMERS"] == imported[warehouse] > 0
    assert (
        rows[f"connections/{netsuite}/imports/{DEMO_IDS['import_customers']}"] == imported[DEMO_IDS["import_customers"]]
    )
    celigo = complete["run"]["facets"]["celigo"]
    assert celigo["jobIds"] == summary.get("job_ids", [summary["job_id"]])
    assert celigo["numSuccess"] == summary["num_success"]

    failed = events_of(events_file, "run_refunds")["FAIL"]
    assert "NetSuite login failed: invalid credentials" in failed["run"]["facets"]["errorMessage"]["message"]
    assert len(failed["inputs"]) == 1 and len(failed["outputs"]) == 1

    with sqlite3.connect(celigo_home.database) as db:
        rows_db = db.execute(
            "SELECT asset.uri, asset_event.extra FROM asset_event JOIN asset ON asset.id = asset_event.asset_id"
        ).fetchall()
    flow_uri = f"celigo://{host}/flows/{DEMO_IDS['flow_customers']}"
    extras = [json.loads(extra) for uri, extra in rows_db if uri == flow_uri]
    assert len(extras) == 1 and extras[0]["job_ids"] == celigo["jobIds"]
    assert extras[0]["num_success"] == summary["num_success"]
    assert [uri for uri, _extra in rows_db if uri.endswith(DEMO_IDS["flow_refunds"])] == []  # failed: no event
    assert emulator.token not in events_file.read_text()
    record(
        "lineage",
        f"airflow dags test + OpenLineage file transport: COMPLETE has {len(complete['inputs'])} input (1 export) "
        f"and {len(outputs)} outputs (2 imports), rowCount = the job family's numSuccess {sorted(rows.values())}; "
        "FAIL carries the flow's error message",
    )
