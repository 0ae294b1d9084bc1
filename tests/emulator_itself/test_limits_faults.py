"""The leaky bucket and every kind of injected fault."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from conftest import Api, assert_error

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

RUN_PATH = r"^/v1/flows/[0-9a-f]{24}/run$"


def test_leaky_bucket_burst(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(bucket_size=5, refill_per_second=1)
    statuses = []
    for _ in range(20):
        response = api.get("/tokenInfo")
        statuses.append(response.status_code)
        if response.status_code == 429:
            retry_after = response.headers["Retry-After"]
            assert retry_after.isdigit() and int(retry_after) >= 1
            assert_error(response, 429, "rate_limited")
    assert statuses[:5] == [200] * 5
    assert statuses.count(429) >= 14
    assert admin.stats()["requests_total"] == 20  # admin calls are not counted


def test_bucket_is_per_account(server: EmulatorServer, api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(bucket_size=2, refill_per_second=0.1, tokens={server.token: "default", "t2": "second"})
    assert [api.get("/tokenInfo").status_code for _ in range(3)] == [200, 200, 429]
    assert Api(server.base_url, "t2").get("/tokenInfo").status_code == 200


def test_injected_500_and_503(api: Api, admin: EmulatorAdmin) -> None:
    admin.set_faults({"share_500": 1.0})
    assert_error(api.get("/flows"), 500, "internal_error")
    admin.set_faults({"share_503": 1.0})
    assert_error(api.get("/flows"), 503, "service_unavailable")
    admin.set_faults({})
    assert api.get("/flows").status_code == 200
    counters = admin.faults()["counters"]
    assert counters["error_500"] == 1 and counters["error_503"] == 1


def test_dropped_connection(api: Api, admin: EmulatorAdmin) -> None:
    admin.set_faults({"share_drop": 1.0})
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{api.base_url}/flows", headers=api.session.headers, timeout=5)
    admin.set_faults({})
    assert api.get("/flows").status_code == 200
    assert admin.faults()["counters"]["drop"] == 1
    assert admin.requests_log()[-2]["fault"] == "drop"


def test_faulted_run_creates_no_job(api: Api, admin: EmulatorAdmin) -> None:
    for plan in (
        {"routes": [{"method": "POST", "path": RUN_PATH, "share_500": 1.0}]},
        {"routes": [{"method": "POST", "path": RUN_PATH, "share_503": 1.0}]},
        {"routes": [{"method": "POST", "path": RUN_PATH, "share_drop": 1.0}]},
        {"routes": [{"method": "POST", "path": RUN_PATH, "storm_next": 1}]},
    ):
        admin.set_faults(plan)
        try:
            response = api.post(f"/flows/{DEMO_IDS['flow_orders']}/run")
            assert response.status_code in (429, 500, 503)
        except requests.ConnectionError:
            pass
        assert api.get("/flows").status_code == 200  # other routes unaffected
    assert admin.runs() == {} and admin.jobs() == []
    admin.set_faults({})
    assert api.post(f"/flows/{DEMO_IDS['flow_orders']}/run").status_code == 201


def test_faults_after_the_handler_lose_the_answer_not_the_work(api: Api, admin: EmulatorAdmin) -> None:
    admin.set_faults({"routes": [{"method": "POST", "path": RUN_PATH, "share_500_after": 1.0, "limit": 1}]})
    assert_error(api.post(f"/flows/{DEMO_IDS['flow_orders']}/run"), 500, "internal_error")
    admin.set_faults({"routes": [{"method": "POST", "path": RUN_PATH, "share_drop_after": 1.0, "limit": 1}]})
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{api.base_url}/flows/{DEMO_IDS['flow_customers']}/run", headers=api.session.headers, timeout=5)
    # both runs started although neither caller saw a job id
    assert admin.runs() == {DEMO_IDS["flow_orders"]: 1, DEMO_IDS["flow_customers"]: 1}
    counters = admin.faults()["counters"]
    assert counters["error_500_after"] == 1 and counters["drop_after"] == 1


def test_storm_next_and_share(api: Api, admin: EmulatorAdmin) -> None:
    admin.set_faults({"storm_next": 3, "storm_retry_after": 2})
    responses = [api.get("/flows") for _ in range(4)]
    assert [r.status_code for r in responses] == [429, 429, 429, 200]
    assert all(r.headers["Retry-After"] == "2" for r in responses[:3])
    assert_error(responses[0], 429, "rate_limited")
    admin.set_faults({"storm_share": 1.0})
    assert api.get("/flows").status_code == 429
    assert admin.faults()["counters"]["storm_429"] == 4


def test_limit_and_prefix_rules(api: Api, admin: EmulatorAdmin) -> None:
    admin.set_faults({"routes": [{"prefix": "/v1/connections", "share_500": 1.0, "limit": 2}]})
    assert [api.get("/connections").status_code for _ in range(3)] == [500, 500, 200]
    assert api.get("/flows").status_code == 200


def test_seeded_faults_are_deterministic(api: Api, admin: EmulatorAdmin) -> None:
    def sequence() -> list[int]:
        admin.set_faults({"seed": 7, "share_500": 0.3, "share_503": 0.2})
        return [api.get("/tokenInfo").status_code for _ in range(30)]

    first, second = sequence(), sequence()
    assert first == second
    assert {200, 500, 503} <= set(first)


def test_a_route_rule_never_shifts_the_draws_of_the_others(api: Api, admin: EmulatorAdmin) -> None:
    """Each rule draws from its own seeded generator: the n-th read gets the same fault however many calls of
    another rule came between (what makes the reliability figures the same run to run)."""
    route = {"method": "GET", "prefix": "/v1/flows", "share_503": 0.5}

    def reads(interleaved: int) -> list[int]:
        admin.set_faults({"seed": 11, "share_500": 0.4, "routes": [route]})
        statuses = []
        for _ in range(25):
            statuses.append(api.get("/tokenInfo").status_code)
            for _ in range(interleaved):
                api.get("/flows")
        return statuses

    alone, interleaved = reads(0), reads(2)
    assert alone == interleaved
    assert {200, 500} <= set(alone)


def test_latency_counts_as_in_flight(server: EmulatorServer, api: Api, admin: EmulatorAdmin) -> None:
    admin.set_faults({"latency": 0.3})
    admin.reset_stats()

    def call(index: int) -> int:
        headers = {"Authorization": f"Bearer {server.token}", "User-Agent": "latency-test"}
        return requests.get(f"{server.base_url}/flows", headers=headers, timeout=5).status_code

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(call, range(6))) == [200] * 6
    stats = admin.stats()
    assert stats["peak_requests_in_flight"] >= 4
    assert stats["requests_in_flight_by_user_agent_peak"]["latency-test"] >= 4
    assert admin.faults()["counters"]["latency"] == 6


def test_admin_routes_are_never_faulted(admin: EmulatorAdmin) -> None:
    admin.set_faults({"share_500": 1.0, "share_drop": 0.0})
    assert admin.faults()["plan"]["share_500"] == 1.0
    admin.reset()
    assert admin.faults()["plan"]["share_500"] == 0.0


def test_invalid_fault_plans_are_422(server: EmulatorServer, admin: EmulatorAdmin) -> None:
    plans: list[Any] = [{"share_500": 2}, {"bogus": 1}, {"routes": [{"share_500": 1}]}, {"routes": [{"path": "("}]}, []]
    for plan in plans:
        response = requests.put(f"{server.root_url}/_emulator/faults", json=plan, timeout=5)
        assert_error(response, 422, "invalid_fault_plan")


def test_admin_can_be_disabled() -> None:
    with EmulatorServer(seed="demo", admin=False) as server:
        assert requests.post(f"{server.root_url}/_emulator/reset", timeout=5).status_code == 404
        assert requests.get(f"{server.root_url}/_emulator/stats", timeout=5).status_code == 404
        api = Api(server.base_url, server.token)
        assert api.get(f"/flows/{DEMO_IDS['flow_orders']}").status_code == 200
