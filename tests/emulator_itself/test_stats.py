"""Observation routes: peak running jobs per account and connection, request counters, logs."""

from __future__ import annotations

from conftest import Api

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

LONG = {"export_seconds": 100, "import_seconds": 100}


def test_peak_running_jobs_per_account_and_connection(api: Api, admin: EmulatorAdmin) -> None:
    flows = [DEMO_IDS["flow_orders"], DEMO_IDS["flow_customers"], DEMO_IDS["flow_inventory"]]
    for flow in flows:
        admin.set_scenario(flow, **LONG)
    jobs = [api.run(flow) for flow in flows]
    queued = api.run(DEMO_IDS["flow_orders"])  # waits behind the first Orders run: not running
    for job in jobs:
        api.wait_job(job, {"running"})
    stats = admin.stats()
    assert stats["running_jobs_now"] == 3
    peaks = stats["peak_running_jobs"]
    assert peaks["account"] == {"default": 3}
    assert peaks["connection"][DEMO_IDS["conn_shopify"]] == 3
    assert peaks["connection"][DEMO_IDS["conn_netsuite"]] == 3
    assert peaks["connection"][DEMO_IDS["conn_snowflake"]] == 2

    admin.configure(cancel_delay_seconds=0)
    for job in [*jobs, queued]:
        api.put(f"/jobs/{job}/cancel")
    after = admin.stats()
    assert after["running_jobs_now"] == 0
    assert after["peak_running_jobs"]["account"] == {"default": 3}  # peaks are history

    admin.reset_stats()
    assert admin.stats()["peak_running_jobs"] == {"account": {}, "connection": {}}
    api.wait_job(api.run(DEMO_IDS["flow_onboarding_orders"]), {"running"})
    assert admin.stats()["peak_running_jobs"]["account"] == {"default": 1}


def test_jobs_running_across_a_stats_reset_still_count(api: Api, admin: EmulatorAdmin) -> None:
    admin.set_scenario(DEMO_IDS["flow_orders"], **LONG)
    api.wait_job(api.run(DEMO_IDS["flow_orders"]), {"running"})
    admin.reset_stats()
    assert admin.stats()["peak_running_jobs"]["account"] == {"default": 1}


def test_request_counters_and_log(api: Api, admin: EmulatorAdmin) -> None:
    api.get("/flows", params={"disabled": "true"}, headers={"User-Agent": "agent-x"})
    api.get("/nope")
    stats = admin.stats()
    assert stats["requests_total"] == 2 and stats["peak_requests_in_flight"] >= 1
    assert stats["requests_in_flight_by_user_agent_peak"]["agent-x"] == 1
    log = admin.requests_log()
    assert [(r["method"], r["path"], r["status"]) for r in log] == [("GET", "/v1/flows", 200), ("GET", "/v1/nope", 404)]
    assert log[0]["query"] == "disabled=true" and log[0]["account"] == "default"
    assert log[0]["time"].endswith("Z") and log[0]["user_agent"] == "agent-x"


def test_admin_jobs_data_and_config(api: Api, admin: EmulatorAdmin) -> None:
    job_id = api.run(DEMO_IDS["flow_orders"], {"runKey": "k"})
    jobs = admin.jobs()
    assert [(j["_id"], j["account"], j["runBody"]) for j in jobs] == [(job_id, "default", {"runKey": "k"})]
    data = admin.data()
    shopify = data["accounts"]["default"]["resources"]["connections"][0]
    assert shopify["http"]["auth"]["token"]["token"].startswith("shpat")  # unmasked
    assert data["scenarios"][DEMO_IDS["flow_orders"]]["records"] == 120
    config = admin.configure(page_size=7, bucket=50, refill=10)
    assert (config["page_size"], config["bucket_size"], config["refill_per_second"]) == (7, 50, 10)


def test_seed_raw_dump(api: Api, admin: EmulatorAdmin) -> None:
    admin.reset()
    flow_id = "6650f00000000000000000aa"
    loaded = admin.seed(
        {
            "connections": [{"_id": "6650c00000000000000000aa", "type": "http", "name": "Raw"}],
            "flows": [{"_id": flow_id, "name": "Raw flow"}],
            "scenarios": {flow_id: {"records": 3}},
        }
    )
    assert loaded == {"connections": 1, "flows": 1}
    assert api.get(f"/flows/{flow_id}").json()["name"] == "Raw flow"
    job = api.wait_job(api.run(flow_id), {"completed"})
    assert job["status"] == "completed"
