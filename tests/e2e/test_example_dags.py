"""Every example DAG runs through ``airflow dags test`` against the emulator, with checks on what it did there."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_celigo.testing.dags import AirflowHome, DagTestResult
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "example_dags"
# What `airflow dags test` logs when it runs a deferred task's trigger (the marker test_run_flow_dags.py checks).
IN_LINE_TRIGGER = "[DAG TEST] running trigger in line"


def run_example(home: AirflowHome, dag_id: str) -> DagTestResult:
    result = home.dags_test(dag_id, EXAMPLES / f"{dag_id}.py", timeout=240)
    assert not result.timed_out, result.describe()
    return result


def flows_of(data: dict[str, Any], integration_id: str) -> list[dict[str, Any]]:
    return [flow for flow in data["flows"] if flow.get("_integrationId") == integration_id]


def account_data(emulator: EmulatorServer) -> dict[str, Any]:
    """Return the demo account's resources by type, plus its recycle bin, state and lookup data."""
    account = emulator.admin.data()["accounts"]["default"]
    return {**account["resources"], **{k: v for k, v in account.items() if k != "resources"}}


def assert_no_token(home: AirflowHome, emulator: EmulatorServer) -> None:
    assert emulator.token not in home.all_logs_text()


def test_run_flows(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result = run_example(celigo_home, "example_celigo_run_flows")
    assert result.states == {
        "run_orders_flow": "success",
        "run_customers_flow": "success",
        "run_storefront_orders_flow": "success",
    }, result.describe()
    runs = emulator.admin.runs()
    storefronts_flow = DEMO_IDS["flow_storefront_orders"]
    assert runs == {DEMO_IDS["flow_orders"]: 1, DEMO_IDS["flow_customers"]: 1, storefronts_flow: 1}
    orders = result.xcom("run_orders_flow")
    assert orders["status"] == "completed" and orders["num_success"] == 240  # 120 exported + 120 imported
    assert result.xcom("run_orders_flow", key="celigo_job_id") == orders["job_id"]
    storefronts = result.xcom("run_storefront_orders_flow")
    jobs = {job["_id"]: job for job in emulator.admin.jobs() if job.get("_flowId") == storefronts_flow}
    assert len(storefronts["job_ids"]) == 3 and set(storefronts["job_ids"]) <= set(jobs)
    assert storefronts["num_success"] == sum(jobs[job_id]["numSuccess"] for job_id in storefronts["job_ids"])
    assert_no_token(celigo_home, emulator)


def test_deferrable_and_sensor(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result = run_example(celigo_home, "example_celigo_deferrable_and_sensor")
    assert set(result.states.values()) == {"success"}, result.describe()
    assert emulator.admin.runs() == {DEMO_IDS["flow_inventory"]: 1, DEMO_IDS["flow_orders"]: 1}
    assert result.xcom("run_inventory_sync")["num_success"] == 15000  # the export and two imports, 5000 each
    # The long run deferred: its wait ran through the trigger (in line, as `airflow dags test` runs triggers), in
    # its own task's log. (The sensor may find the short orders job already ended at its first poke: no deferral.)
    log = result.log("run_inventory_sync")
    assert IN_LINE_TRIGGER in log, f"run_inventory_sync did not defer\n{result.describe()}"
    orders_job = result.xcom("start_orders", key="celigo_job_id")
    sensed = result.xcom("wait_for_orders")
    assert sensed is not None, f"the sensor pushed no XCom\n{result.describe()}"
    assert sensed["status"] == "completed" and sensed["job_id"] == orders_job, sensed
    assert_no_token(celigo_home, emulator)


def test_deploy_integration(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result = run_example(celigo_home, "example_celigo_deploy_integration")
    assert set(result.states.values()) == {"success"}, result.describe()
    report = result.xcom("report")
    new_integration = report["integration_id"]
    data = account_data(emulator)
    [integration] = [i for i in data["integrations"] if i["_id"] == new_integration]
    assert integration["name"] == "Acme integration"
    cloned = flows_of(data, new_integration)
    assert len(cloned) == 2 and not any(flow.get("disabled") for flow in cloned)
    steps = {e["_id"]: e for e in data["exports"] + data["imports"] if e.get("_integrationId") == new_integration}
    assert {step["_connectionId"] for step in steps.values()} == {
        DEMO_IDS["conn_acme_shopify"],
        DEMO_IDS["conn_acme_netsuite"],
    }
    runs = emulator.admin.runs()
    assert {flow["_id"]: 1 for flow in cloned} == runs
    assert sorted(job["flow_id"] for job in report["jobs"]) == sorted(flow["_id"] for flow in cloned)
    # After the clone, the customer's connections were registered with the new integration.
    customer = {DEMO_IDS["conn_acme_shopify"], DEMO_IDS["conn_acme_netsuite"]}
    assert set(report["registered_connection_ids"]) == customer == set(integration["_registeredConnectionIds"])
    register_path = f"/v1/integrations/{new_integration}/connections/register"
    assert [r["method"] for r in emulator.admin.requests_log() if r["path"] == register_path] == ["PUT"]
    assert "registered connections: " in result.log("report")
    assert_no_token(celigo_home, emulator)


def test_resources_as_code(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    before = account_data(emulator)
    result = run_example(celigo_home, "example_celigo_resources_as_code")
    assert set(result.states.values()) == {"success"}, result.describe()
    created = {kind: result.xcom(f"create_{kind}")["_id"] for kind in ("connection", "export", "import", "flow")}
    assert emulator.admin.runs() == {created["flow"]: 1}
    after = account_data(emulator)
    for kind, plural in (("connection", "connections"), ("export", "exports"), ("import", "imports")):
        assert created[kind] not in {doc["_id"] for doc in after[plural]}
    assert len(after["flows"]) == len(before["flows"])
    binned = {entry["doc"]["_id"]: entry["doc"] for entry in after["recycleBin"]}
    assert binned[created["flow"]]["name"] == "Orders API to warehouse (nightly)"
    # the safe update kept the fields it did not name
    assert binned[created["flow"]]["pageGenerators"] == [{"_exportId": created["export"]}]
    log = emulator.admin.requests_log()
    assert not any(entry.get("masked_secret_written") for entry in log)
    assert_no_token(celigo_home, emulator)


def test_fan_out(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result = run_example(celigo_home, "example_celigo_fan_out")
    segments = [DEMO_IDS[key] for key in DEMO_IDS if key.startswith("flow_segment_")]
    assert len(segments) == 6
    mapped = {index: result.state("run_flow", index) for index in range(len(segments))}
    assert set(mapped.values()) == {"success"}, result.describe()
    assert emulator.admin.runs() == dict.fromkeys(segments, 1)
    flow_jobs = [job for job in emulator.admin.jobs() if job.get("type") == "flow" and job["_flowId"] in segments]
    moved = sum(job["numSuccess"] for job in flow_jobs)
    assert result.xcom("total_records") == moved
    assert moved == 2 * sum(30 + 10 * n for n in range(6))  # each flow job counts its export and its import
    assert_no_token(celigo_home, emulator)


def test_feed_from_warehouse(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result = run_example(celigo_home, "example_celigo_feed_from_warehouse")
    assert set(result.states.values()) == {"success"}, result.describe()
    data = account_data(emulator)
    entries = data["lookupData"][DEMO_IDS["lookupcache_sku"]]
    assert len(entries) == 2500 + 1
    upserts = [
        entry
        for entry in emulator.admin.requests_log()
        if entry["method"] == "POST" and entry["path"].endswith(f"{DEMO_IDS['lookupcache_sku']}/data")
    ]
    assert len(upserts) == 3  # 1000 + 1000 + 500
    assert "orders_last_sync" in str(data["state"])
    assert emulator.admin.runs() == {DEMO_IDS["flow_orders"]: 1}
    assert_no_token(celigo_home, emulator)


def test_failure_handling(celigo_home: AirflowHome, emulator: EmulatorServer) -> None:
    result = run_example(celigo_home, "example_celigo_failure_handling")
    assert result.states == {
        "invoices_policy_warn": "success",
        "invoices_policy_threshold": "success",
        "invoices_policy_fail": "failed",
        "refunds_fail_with_retry": "failed",
        "report": "success",
    }, result.describe()
    assert result.task("refunds_fail_with_retry").try_number == 2
    # three policy runs of the invoices flow; the failed refunds run is started afresh on its retry
    assert emulator.admin.runs() == {DEMO_IDS["flow_invoices"]: 3, DEMO_IDS["flow_refunds"]: 2}
    assert "NetSuite login failed" in result.log("refunds_fail_with_retry")
    # The warn policy accepted the job's 3 record errors, and said so in the task's log.
    warned = result.xcom("invoices_policy_warn")
    assert warned["num_error"] == 3, warned
    accepted = re.compile(
        rf"Celigo job {re.escape(warned['job_id'])} completed: \d+ succeeded, 3 errors, \d+ ignored, .*"
        r"\(accepted: errors only warn\)"
    )
    assert accepted.search(result.log("invoices_policy_warn")), result.log("invoices_policy_warn")[-3000:]
    assert all(result.xcom("report").values()), "every attempt's job id is in XCom, even for failed tasks"
    assert_no_token(celigo_home, emulator)
