"""Runs integrator.io starts by itself: flows chained by ``_runNextFlowIds`` and flow schedules."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

import pytest
import requests
from conftest import Api
from job_model import job_model_defaults, seconds  # noqa: F401 - an autouse fixture

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.schedule import ScheduleError, parse_schedule
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

PRODUCTS, PRICES = DEMO_IDS["flow_nightly_products"], DEMO_IDS["flow_nightly_prices"]


def _admin(server: EmulatorServer, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{server.root_url}/_emulator{path}", json=body, timeout=10)


def _runs(server: EmulatorServer) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = _admin(server, "GET", "/flow-runs").json()["runs"]
    return runs


def _wait_for_run(server: EmulatorServer, flow_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        found = [r for r in _runs(server) if r["_flowId"] == flow_id]
        if found and all(s == "completed" for s in found[-1]["statuses"]):
            return found[-1]
        assert time.monotonic() < deadline, _runs(server)
        time.sleep(0.02)


def _advance(server: EmulatorServer, seconds: float) -> float:
    """Jump the emulated clock forward; return the emulated now (epoch seconds)."""
    response = _admin(server, "POST", "/clock/advance", {"seconds": seconds})
    assert response.status_code == 200, response.text
    now: float = response.json()["now"]
    return now


def test_a_completed_run_starts_the_next_flows(api: Api, admin: EmulatorAdmin, server: EmulatorServer) -> None:
    admin.configure(clock_speed=50)
    first = api.wait_job(api.run(PRODUCTS), {"completed"})
    chained = _wait_for_run(server, PRICES)
    assert chained["startedBy"] == {"type": "chain", "_flowId": PRODUCTS, "_jobIds": [first["_id"]]}
    prices_job = api.job(chained["_jobIds"][0])
    # created chain_delay_seconds (0.5) after the predecessor turned terminal (its lastExecutedAt)
    assert seconds(prices_job["createdAt"]) - seconds(first["lastExecutedAt"]) == pytest.approx(0.5, abs=0.002)
    (products_run,) = [r for r in _runs(server) if r["_flowId"] == PRODUCTS]
    assert products_run["startedBy"]["type"] == "api"
    assert [c["_flowId"] for c in products_run["chained"]] == [PRICES]
    assert admin.runs() == {PRODUCTS: 1}  # only POST /run calls count; the chained run is integrator.io's
    assert [j["_id"] for j in admin.jobs() if j.get("startedBy", {}).get("type") == "chain"] == [prices_job["_id"]]


def test_canceled_or_failed_runs_chain_nothing(api: Api, admin: EmulatorAdmin, server: EmulatorServer) -> None:
    admin.configure(cancel_delay_seconds=0)
    job_id = api.run(PRODUCTS)
    api.wait_job(job_id, {"running"})
    api.put(f"/jobs/{job_id}/cancel")
    admin.set_scenario(PRODUCTS, fail=True)
    failed = api.wait_job(api.run(PRODUCTS), {"failed"})
    _advance(server, 60)
    assert [r["_flowId"] for r in _runs(server)] == [PRODUCTS, PRODUCTS]
    last = _runs(server)[-1]
    assert last["_jobIds"] == [failed["_id"]] and last["chained"][0]["skipped"] == "the run ended failed"


def test_a_chained_disabled_flow_is_skipped(api: Api, admin: EmulatorAdmin, server: EmulatorServer) -> None:
    admin.configure(clock_speed=50)
    patch = [{"op": "replace", "path": "/disabled", "value": True}]
    assert api.patch(f"/flows/{PRICES}", json=patch).status_code in (200, 204)
    api.wait_job(api.run(PRODUCTS), {"completed"})
    _advance(server, 5)
    assert [r["_flowId"] for r in _runs(server)] == [PRODUCTS]
    skipped = _admin(server, "GET", "/flow-runs").json()["skipped"]
    assert [(s["_flowId"], s["reason"], s["startedBy"]["type"]) for s in skipped] == [
        (PRICES, "flow disabled", "chain")
    ]


def _seed_scheduled(admin: EmulatorAdmin, flow_id: str, schedule: str, disabled: bool = False) -> None:
    admin.seed(
        {
            "flows": [
                {
                    "_id": flow_id,
                    "name": f"Scheduled {schedule}",
                    "_integrationId": DEMO_IDS["integration_shop"],
                    "disabled": disabled,
                    "schedule": schedule,
                    "pageGenerators": [{"_exportId": DEMO_IDS["export_orders"]}],
                    "pageProcessors": [{"type": "import", "_importId": DEMO_IDS["import_orders"]}],
                }
            ],
            "scenarios": {flow_id: {"export_seconds": 1, "import_seconds": 1, "records": 4}},
        }
    )


def test_a_schedule_fires_on_the_emulated_clock(api: Api, admin: EmulatorAdmin, server: EmulatorServer) -> None:
    admin.configure(clock_speed=1)  # a real millisecond between two calls is an emulated one
    every_minute, disabled = "6650f00000000000000000c1", "6650f00000000000000000c2"
    _seed_scheduled(admin, every_minute, "? * * * * *")
    _seed_scheduled(admin, disabled, "? * * * * *", disabled=True)
    now = _advance(server, 0)
    next_minute = (now // 60 + 1) * 60
    _advance(server, next_minute + 150 - now)  # fires at +0, +60 and +120 s; the last run has ended by +150
    runs = [r for r in _runs(server) if r["_flowId"] == every_minute]
    assert len(runs) == 3 and all(r["startedBy"] == {"type": "schedule"} for r in runs)
    assert [seconds(r["createdAt"]) % 60 for r in runs] == [0.0, 0.0, 0.0]
    assert not [r for r in _runs(server) if r["_flowId"] == disabled]
    jobs = api.get("/jobs", params={"_flowId": every_minute, "type": "flow"}).json()
    assert len(jobs) == 3 and all(j["status"] == "completed" for j in jobs)
    assert admin.runs() == {}
    admin.configure(run_schedules=False)
    _advance(server, 120)
    assert len([r for r in _runs(server) if r["_flowId"] == every_minute]) == 3


def test_a_daily_schedule_fires_once_a_day(api: Api, admin: EmulatorAdmin, server: EmulatorServer) -> None:
    daily = "6650f00000000000000000c3"
    _seed_scheduled(admin, daily, "? 0 2 ? * *")  # the example of integrator.io's flow.md; the seed has no timezone
    _advance(server, 86400)
    (run,) = [r for r in _runs(server) if r["_flowId"] == daily]
    fired = datetime.fromtimestamp(seconds(run["createdAt"]), timezone.utc)
    assert (fired.hour, fired.minute, fired.second) == (2, 0, 0)


def test_admin_starts_a_run_as_the_schedule_would(api: Api, admin: EmulatorAdmin, server: EmulatorServer) -> None:
    storefronts = DEMO_IDS["flow_storefront_orders"]
    response = _admin(server, "POST", f"/flows/{storefronts}/run", {})
    assert response.status_code == 200, response.text
    started = response.json()
    assert len(started["_jobIds"]) == 1  # sequential sources: the next ones follow the exports
    (run,) = _runs(server)
    assert run["runId"] == started["runId"] and run["startedBy"] == {"type": "schedule"}
    assert api.job(started["_jobIds"][0])["_flowId"] == storefronts
    assert admin.runs() == {}
    assert _admin(server, "POST", f"/flows/{DEMO_IDS['flow_legacy_ftp']}/run").status_code == 422
    assert _admin(server, "POST", "/flows/6650f00000000000000000ff/run").status_code == 404
    assert _admin(server, "POST", "/clock/advance", {"seconds": -1}).status_code == 422


def test_schedule_strings() -> None:
    docs_example = parse_schedule("? 0 2 ? * *")
    at = datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc)
    assert docs_example.matches(at) and not docs_example.matches(at.replace(minute=1))
    quarter = parse_schedule("? */15 8-17 ? * 1-5", "America/New_York")
    monday_9am_new_york = datetime(2024, 5, 6, 13, 0, tzinfo=timezone.utc)
    fires = quarter.fires_between(monday_9am_new_york.timestamp() - 1, monday_9am_new_york.timestamp() + 3600, 10)
    assert len(fires) == 5  # 9:00, 9:15, 9:30, 9:45, 10:00 local
    sunday = datetime(2024, 5, 5, 13, 0, tzinfo=timezone.utc)
    assert quarter.fires_between(sunday.timestamp(), sunday.timestamp() + 3600, 10) == []
    for bad in ("* * *", "? 61 * ? * *", "? a * ? * *", "? */0 * ? * *"):
        with pytest.raises(ScheduleError):
            parse_schedule(bad)
