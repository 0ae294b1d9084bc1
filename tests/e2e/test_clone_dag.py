"""End to end: ``airflow dags test`` of the clone DAG (tests/e2e/dags/clone_integration_dag.py) against the emulator.

The DAG pings the customer's connections, clones the onboarding template with a connection map
(Shopify -> Acme Shopify, NetSuite -> Acme NetSuite), enables and runs the cloned flows (dynamic task
mapping over the clone's flow ids), snapshots the clone while it exists and deletes it. The test checks task
states, the snapshot XCom, and the emulator's data and request log.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_celigo.testing.dags import AirflowHome
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

if TYPE_CHECKING:
    from airflow_provider_celigo.testing.emulator.server import EmulatorServer

pytestmark = pytest.mark.e2e

DAG_FILE = Path(__file__).parent / "dags" / "clone_integration_dag.py"
ACME = {DEMO_IDS["conn_acme_shopify"], DEMO_IDS["conn_acme_netsuite"]}
TEMPLATE = DEMO_IDS["integration_template"]
TEMPLATE_FLOWS = (DEMO_IDS["flow_onboarding_customers"], DEMO_IDS["flow_onboarding_orders"])


def account(emulator: EmulatorServer) -> dict[str, Any]:
    return emulator.admin.data()["accounts"]["default"]


def test_clone_run_and_delete_dag(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    before = account(emulator)
    result = celigo_home.dags_test("celigo_clone_integration", DAG_FILE, timeout=180)
    info = result.describe()

    assert not result.timed_out and result.returncode == 0, info
    assert result.run_state == "success", info
    assert result.states == {
        "ping_customer_connection[0]": "success",
        "ping_customer_connection[1]": "success",
        "clone_template": "success",
        "cloned_flow_ids": "success",
        "snapshot_clone": "success",
        "run_cloned_flow[0]": "success",
        "run_cloned_flow[1]": "success",
        "delete_clone": "success",
    }, info

    clone = result.xcom("clone_template")
    snapshot = result.xcom("snapshot_clone")
    assert snapshot["integration_id"] == clone["integration_id"] == result.xcom("clone_template", "integration_id")
    assert snapshot["name"] == "Acme onboarding"
    assert set(snapshot["registered_connections"]) == ACME
    assert len(snapshot["step_connections"]) == 4 and set(snapshot["step_connections"].values()) == ACME

    # Each cloned flow ran once; the template's flows did not run.
    runs = emulator.admin.runs()
    assert sorted(runs) == sorted(clone["flow_ids"]) and set(runs.values()) == {1}
    assert not set(TEMPLATE_FLOWS) & set(runs)

    # After the run the clone (and its flows) are gone, kept in the recycle bin, with the remapped connections.
    after = account(emulator)
    assert clone["integration_id"] not in {doc["_id"] for doc in after["resources"]["integrations"]}
    binned = {entry["doc"]["_id"]: entry for entry in after["recycleBin"]}
    assert binned[clone["integration_id"]]["model"] == "Integration"
    assert set(binned[clone["integration_id"]]["doc"]["_registeredConnectionIds"]) == ACME
    for flow_id in clone["flow_ids"]:
        assert binned[flow_id]["cascadeOf"] == clone["integration_id"]
        assert binned[flow_id]["doc"]["disabled"] is False
    template = {doc["_id"]: doc for doc in after["resources"]["integrations"]}[TEMPLATE]
    assert template == {doc["_id"]: doc for doc in before["resources"]["integrations"]}[TEMPLATE]

    log = emulator.admin.requests_log()
    clone_posts = [r["path"] for r in log if r["method"] == "POST" and r["path"].endswith("/clone")]
    assert clone_posts == [f"/v1/integrations/{TEMPLATE}/clone"]
    assert [r["path"] for r in log if r["method"] == "DELETE"] == [f"/v1/integrations/{clone['integration_id']}"]
    assert not [r for r in log if r["masked_secret_written"]]
    assert emulator.token not in celigo_home.all_logs_text()
