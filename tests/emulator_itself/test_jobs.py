"""Flow runs and the job state machine, driven by a fast emulated clock."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

import pytest
from conftest import Api, assert_error

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

HEX24 = re.compile(r"^[0-9a-f]{24}$")
ORDERS = DEMO_IDS["flow_orders"]


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_run_completes_with_children(api: Api, admin: EmulatorAdmin) -> None:
    response = api.post(f"/flows/{ORDERS}/run")
    assert response.status_code == 201
    job_id = response.json()["_jobId"]
    assert HEX24.match(job_id)
    first = api.job(job_id)
    assert first["type"] == "flow" and first["_flowId"] == ORDERS
    assert first["_exportId"] == DEMO_IDS["export_orders"] and first["_integrationId"] == DEMO_IDS["integration_shop"]
    assert first["status"] in ("running", "queued")
    done = api.wait_job(job_id, {"completed", "failed"})
    assert done["status"] == "completed"
    # the flow job's counters are the sums over its children: 120 read by the export + 120 written by the import
    assert (done["numSuccess"], done["numError"], done["numOpenError"]) == (240, 0, 0)
    assert done["numPagesGenerated"] == 6 and done["doneExporting"] is True
    assert _time(done["purgeAt"]) - _time(done["createdAt"]) == timedelta(days=30)
    assert _time(done["endedAt"]) - _time(done["startedAt"]) == timedelta(seconds=5)
    family = api.get(f"/jobs/{job_id}/family").json()
    children = family["children"]
    assert [(c["type"], c["oIndex"]) for c in children] == [("export", 0), ("import", 1)]
    assert all(c["_flowJobId"] == job_id and c["status"] == "completed" for c in children)
    assert children[0]["_exportId"] == DEMO_IDS["export_orders"]
    assert children[1]["_importId"] == DEMO_IDS["import_orders"] and children[1]["retriable"] is False
    assert api.get(f"/jobs/{children[1]['_id']}").json()["_importId"] == DEMO_IDS["import_orders"]
    assert admin.runs() == {ORDERS: 1}


def test_run_bodies_and_status_switch(api: Api, admin: EmulatorAdmin) -> None:
    bodies = [
        {},
        {"export": {"startDate": "2024-01-01T00:00:00.000Z", "endDate": "2024-01-02T00:00:00Z"}},
        {"startDate": "2024-01-01", "endDate": "2024-01-02", "_exportIds": [DEMO_IDS["export_orders"]]},
        {"runKey": "raw-data-key"},
    ]
    for body in bodies:
        assert api.post(f"/flows/{ORDERS}/run", json=body).status_code == 201
    recorded = [j["runBody"] for j in admin.jobs()]
    assert recorded == bodies
    assert_error(api.post(f"/flows/{ORDERS}/run", json={"_exportIds": ["6650e00000000000000000ff"]}), 422)
    assert_error(api.post(f"/flows/{ORDERS}/run", json={"export": {"startDate": "not a date"}}), 422)
    assert_error(api.post(f"/flows/{ORDERS}/run", json=[1]), 422)
    admin.configure(run_status_code=200)
    assert api.post(f"/flows/{ORDERS}/run").status_code == 200
    assert admin.runs() == {ORDERS: 5}


def test_unknown_and_disabled_flows(api: Api, admin: EmulatorAdmin) -> None:
    assert_error(api.post("/flows/6650f00000000000000000ff/run"), 404, "not_found")
    assert_error(api.post("/flows/bad/run"), 404)
    assert_error(api.post(f"/flows/{DEMO_IDS['flow_legacy_ftp']}/run"), 422, "flow_disabled")
    assert admin.runs() == {} and admin.jobs() == []


def test_second_run_queues_until_first_ends(api: Api, admin: EmulatorAdmin) -> None:
    admin.set_scenario(ORDERS, export_seconds=10, import_seconds=10)  # 1 s real at speed 20
    first, second = api.run(ORDERS), api.run(ORDERS)
    running, queued = api.wait_job(first, {"running"}), api.job(second)
    assert running["status"] == "running" and queued["status"] == "queued"
    for absent in ("startedAt", "endedAt", "lastExecutedAt"):
        assert absent not in queued
    assert "endedAt" not in running and "startedAt" in running
    assert api.get(f"/jobs/{second}/family").json()["children"] == []
    admin.configure(clock_speed=400)
    done = api.wait_job(first, {"completed"})
    second_done = api.wait_job(second, {"completed"})
    assert second_done["startedAt"] == done["endedAt"]
    assert api.get(f"/flows/{ORDERS}/jobs/latest").json()[0]["_id"] == second


def test_cancel_running_job(api: Api, admin: EmulatorAdmin) -> None:
    job_id = api.run(DEMO_IDS["flow_inventory"])
    time.sleep(0.05)
    response = api.put(f"/jobs/{job_id}/cancel", json={})
    assert response.status_code == 200
    assert response.json()["_id"] == job_id and response.json()["status"] == "canceling"
    canceled = api.wait_job(job_id, {"canceled"}, timeout=5)
    assert re.fullmatch(r"[0-9a-f]{24}", canceled["canceledBy"]) and "endedAt" in canceled
    assert canceled["canceledBy"] == api.get("/tokenInfo").json()["_userId"]
    children = api.get(f"/jobs/{job_id}/family").json()["children"]
    assert children[0]["status"] == "canceled"
    assert_error(api.put(f"/jobs/{job_id}/cancel"), 422, "invalid_job_state")


def test_cancel_queued_job_is_immediate(api: Api, admin: EmulatorAdmin) -> None:
    inventory = DEMO_IDS["flow_inventory"]
    first, second = api.run(inventory), api.run(inventory)
    canceled = api.put(f"/jobs/{second}/cancel").json()
    assert canceled["status"] == "canceled" and "startedAt" not in canceled
    assert api.wait_job(first, {"running"})["status"] == "running"
    admin.configure(cancel_delay_seconds=0)
    assert api.put(f"/jobs/{first}/cancel").json()["status"] == "canceled"
    third = api.run(inventory)
    started = api.wait_job(third, {"running"})  # the canceled runs free the flow at once: only the queue lag
    assert _time(started["startedAt"]) - _time(started["createdAt"]) == timedelta(milliseconds=100)


def test_cancel_completed_job_is_422(api: Api) -> None:
    job_id = api.run(DEMO_IDS["flow_onboarding_orders"])
    api.wait_job(job_id, {"completed"})
    assert_error(api.put(f"/jobs/{job_id}/cancel", json={}), 422, "invalid_job_state")
    assert_error(api.put("/jobs/6650f00000000000000000ff/cancel"), 404)


def test_completed_with_errors_then_resolve_and_retry(api: Api, admin: EmulatorAdmin) -> None:
    flow, step = DEMO_IDS["flow_invoices"], DEMO_IDS["import_invoices"]
    job = api.wait_job(api.run(flow), {"completed", "failed"})
    assert job["status"] == "completed"
    assert (job["numSuccess"], job["numError"], job["numOpenError"], job["numResolved"]) == (50 + 47, 3, 3, 0)
    errors = api.get(f"/flows/{flow}/{step}/errors").json()["errors"]
    assert len(errors) == 3
    for key in ("errorId", "retryDataKey", "occurredAt", "source", "classification", "code", "message"):
        assert all(isinstance(e[key], str) and e[key] for e in errors)
    assert all(e["_flowJobId"] == job["_id"] for e in errors)
    assert api.get(f"/flows/{flow}/{DEMO_IDS['export_invoices']}/errors").json() == {"errors": []}
    summary = api.get(f"/flows/{flow}/errors").json()["flowErrors"]
    assert summary == [{"_expOrImpId": step, "numError": 3, "lastErrorAt": errors[0]["occurredAt"]}]

    assert api.put(f"/flows/{flow}/{step}/resolved", json={"errors": [errors[0]["errorId"]]}).status_code == 204
    resolved = api.get(f"/flows/{flow}/{step}/resolved").json()["resolved"]
    assert [r["errorId"] for r in resolved] == [errors[0]["errorId"]]
    after = api.job(job["_id"])
    assert (after["numResolved"], after["numOpenError"]) == (1, 2)

    keys = [e["retryDataKey"] for e in errors[1:]]
    retry = api.post(f"/flows/{flow}/{step}/retry", json={"retryDataKeys": keys})
    assert retry.status_code == 200
    retry_job = api.wait_job(retry.json()["_jobId"], {"completed"})
    assert retry_job["type"] == "retry" and retry_job["numSuccess"] == 2
    assert api.get(f"/flows/{flow}/{step}/errors").json() == {"errors": []}
    assert len(api.get(f"/flows/{flow}/{step}/resolved").json()["resolved"]) == 3
    assert api.job(job["_id"])["numOpenError"] == 0
    assert len(api.get(f"/jobs/{job['_id']}/joberrors").json()) == 3

    too_many = {"errors": [str(i) for i in range(1001)]}
    assert_error(api.put(f"/flows/{flow}/{step}/resolved", json=too_many), 422, "too_many_items")
    too_many_keys = {"retryDataKeys": [str(i) for i in range(1001)]}
    assert_error(api.post(f"/flows/{flow}/{step}/retry", json=too_many_keys), 422, "too_many_items")
    assert_error(api.get(f"/flows/{flow}/6650d00000000000000000ff/errors"), 404)


def test_failed_run(api: Api) -> None:
    flow, export = DEMO_IDS["flow_refunds"], DEMO_IDS["export_refunds"]
    job = api.wait_job(api.run(flow), {"completed", "failed"})
    assert job["status"] == "failed" and job["numPagesGenerated"] == 0 and job["numError"] == 1
    children = api.get(f"/jobs/{job['_id']}/family").json()["children"]
    assert [(c["type"], c["status"]) for c in children] == [("export", "failed")]
    errors = api.get(f"/flows/{flow}/{export}/errors").json()["errors"]
    assert [e["message"] for e in errors] == ["NetSuite login failed: invalid credentials"]


def test_scenario_changes_at_run_time(api: Api, admin: EmulatorAdmin) -> None:
    admin.set_scenario(ORDERS, fail=True, fail_message="boom")
    assert api.wait_job(api.run(ORDERS), {"completed", "failed"})["status"] == "failed"
    admin.set_scenario(ORDERS, fail=False, records=7, errors=2)
    job = api.wait_job(api.run(ORDERS), {"completed", "failed"})
    assert (job["status"], job["numSuccess"], job["numError"]) == ("completed", 7 + 5, 2)
    with pytest.raises(Exception):  # noqa: B017 - requests.HTTPError
        admin.set_scenario(ORDERS, errors=100)
    with pytest.raises(Exception):  # noqa: B017
        admin.set_scenario(ORDERS, color="blue")


def test_flow_without_scenario_gets_a_short_successful_run(api: Api) -> None:
    export = api.post("/exports", json={"name": "e", "_connectionId": DEMO_IDS["conn_shopify"]}).json()
    flow = api.post("/flows", json={"name": "plain", "pageGenerators": [{"_exportId": export["_id"]}]}).json()
    job = api.wait_job(api.run(flow["_id"]), {"completed", "failed"}, timeout=5)
    assert job["status"] == "completed" and job["numSuccess"] > 0


def test_jobs_query(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(clock_speed=400)
    orders_job = api.wait_job(api.run(ORDERS), {"completed"})
    time.sleep(0.01)
    refunds_job = api.wait_job(api.run(DEMO_IDS["flow_refunds"]), {"failed"})
    assert_error(api.get("/jobs"), 400, "invalid_query")
    assert_error(api.get("/jobs", params={"type": "flow"}), 400, "invalid_query")

    by_integration = api.get("/jobs", params={"_integrationId": DEMO_IDS["integration_shop"], "type": "flow"})
    assert "Link" not in by_integration.headers
    assert [j["_id"] for j in by_integration.json()] == [refunds_job["_id"], orders_job["_id"]]  # newest first
    failed = api.get("/jobs", params=[("_integrationId", DEMO_IDS["integration_shop"]), ("status", "failed")]).json()
    assert {j["_id"] for j in failed} == {refunds_job["_id"], *[c["_id"] for c in failed if c["type"] == "export"]}
    both = api.get("/jobs", params=[("_flowId", ORDERS), ("status", "completed"), ("status", "failed")]).json()
    assert [j["_id"] for j in both] == [orders_job["_id"]]
    indexed = {"_flowId_in[0]": ORDERS, "_flowId_in[1]": DEMO_IDS["flow_refunds"], "type_in[0]": "flow"}
    flow_in = api.get("/jobs", params=indexed)
    assert len(flow_in.json()) == 2
    children = api.get("/jobs", params={"_flowJobId": orders_job["_id"]}).json()
    assert sorted(c["type"] for c in children) == ["export", "import"]
    imports = api.get("/jobs", params={"_flowJobId": orders_job["_id"], "type": "import"}).json()
    assert [c["_importId"] for c in imports] == [DEMO_IDS["import_orders"]]
    by_export = api.get("/jobs", params={"_exportId": DEMO_IDS["export_orders"]}).json()
    assert {j["type"] for j in by_export} == {"flow", "export"}

    created = _time(orders_job["createdAt"])
    epoch_ms = str(int(created.timestamp() * 1000) + 1)
    newer = api.get("/jobs", params={"createdAt_gte": epoch_ms, "type": "flow"}).json()
    assert [j["_id"] for j in newer] == [refunds_job["_id"]]
    older = api.get("/jobs", params={"createdAt_lte": orders_job["createdAt"], "type": "flow"}).json()
    assert [j["_id"] for j in older] == [orders_job["_id"]]
    assert_error(api.get("/jobs", params={"createdAt_gte": "yesterday"}), 400, "invalid_query")

    admin.configure(jobs_cap=1, jobs_require_scope=False)
    capped = api.get("/jobs", params={"type": "flow"}).json()
    assert [j["_id"] for j in capped] == [refunds_job["_id"]]


def test_latest_and_unknown_jobs(api: Api) -> None:
    assert api.get(f"/flows/{ORDERS}/jobs/latest").json() == []
    job_id = api.run(ORDERS)
    latest = api.get(f"/flows/{ORDERS}/jobs/latest").json()
    assert isinstance(latest, list) and latest[0]["_id"] == job_id
    assert_error(api.get("/jobs/6650f00000000000000000ff"), 404, "not_found")
    assert_error(api.get("/jobs/nope"), 404, "invalid_ref")
    assert_error(api.get("/flows/6650f00000000000000000ff/jobs/latest"), 404)


def test_clock_speed_drives_progress(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(clock_speed=1)
    job_id = api.run(DEMO_IDS["flow_inventory"])
    time.sleep(0.2)
    assert api.job(job_id)["status"] == "running"
    admin.configure(clock_speed=1000)  # 60 emulated seconds in 0.06 s
    assert api.wait_job(job_id, {"completed"}, timeout=3)["numSuccess"] == 5000 * 3  # the export and two imports
