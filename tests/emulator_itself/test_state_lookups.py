"""Key-value state (account and per resource) and lookup cache data."""

from __future__ import annotations

from conftest import Api, assert_error

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS


def test_account_state(api: Api) -> None:
    assert api.get("/state").json() == {"keys": []}
    created = api.put("/state/cursor", json={"since": "2024-01-01"})
    assert created.status_code == 201 and created.text == "Created"
    updated = api.put("/state/cursor", json={"since": "2024-02-01"})
    assert updated.status_code == 200 and updated.text == "OK"
    assert api.get("/state/cursor").json() == {"since": "2024-02-01"}
    assert api.put("/state/count", json=42).status_code == 201
    assert api.get("/state/count").json() == 42
    assert sorted(api.get("/state").json()["keys"]) == ["count", "cursor"]
    assert api.delete("/state/count").status_code == 204
    assert_error(api.get("/state/count"), 404, "not_found")
    assert_error(api.delete("/state/count"), 404, "not_found")
    assert api.delete("/state").status_code == 204
    assert api.get("/state").json() == {"keys": []}


def test_resource_state(api: Api) -> None:
    base = f"/flows/{DEMO_IDS['flow_orders']}/state"
    assert api.get(base).json() == {"keys": []}
    assert api.put(f"{base}/watermark", json="2024-05-01").text == "Created"
    assert api.get(f"{base}/watermark").json() == "2024-05-01"
    assert api.get("/state").json() == {"keys": []}  # separate from account state
    assert api.get(f"/imports/{DEMO_IDS['import_orders']}/state").json() == {"keys": []}
    assert api.delete(f"{base}/watermark").status_code == 200  # DOCS state.md: 200 for a resource's state
    assert_error(api.get(f"{base}/watermark"), 404)
    assert_error(api.delete(f"{base}/watermark"), 404)
    assert api.delete(base).status_code == 200
    assert_error(api.get("/flows/6650f00000000000000000ff/state"), 404)
    assert_error(api.put("/state/x", data="1", headers={"Content-Type": "text/plain"}), 415)


def test_lookup_cache_data(api: Api) -> None:
    base = f"/lookupcaches/{DEMO_IDS['lookupcache_sku']}"
    data = [{"key": f"SKU-{i}", "value": f'{{"itemId":"{i}"}}'} for i in range(2, 12)]
    assert api.post(f"{base}/data", json={"data": data}).status_code == 204
    got = api.post(f"{base}/getData", json={"keys": ["SKU-1", "SKU-5", "missing"]}).json()
    assert got == {"data": [{"key": "SKU-1", "value": {"itemId": "101"}}, {"key": "SKU-5", "value": '{"itemId":"5"}'}]}
    prefixed = api.post(f"{base}/getData", json={"startsWith": "SKU-1"}).json()["data"]
    assert {d["key"] for d in prefixed} == {"SKU-1", "SKU-10", "SKU-11"}
    assert api.post(f"{base}/data", json={"data": [{"key": "SKU-5", "value": "new"}]}).status_code == 204
    assert api.post(f"{base}/getData", json={"keys": ["SKU-5"]}).json()["data"][0]["value"] == "new"
    assert api.delete(f"{base}/data", json={"keys": ["SKU-5", "SKU-6"]}).status_code == 204
    assert api.post(f"{base}/getData", json={"keys": ["SKU-5", "SKU-6"]}).json() == {"data": []}
    assert api.delete(f"{base}/data/purge").status_code == 204
    assert api.post(f"{base}/getData", json={"startsWith": ""}).json() == {"data": []}


def test_lookup_cache_limits(api: Api) -> None:
    base = f"/lookupcaches/{DEMO_IDS['lookupcache_sku']}"
    too_many = [{"key": f"k{i}", "value": str(i)} for i in range(1001)]
    assert_error(api.post(f"{base}/data", json={"data": too_many}), 422, "too_many_items")
    ok = [{"key": f"k{i}", "value": str(i)} for i in range(1000)]
    assert api.post(f"{base}/data", json={"data": ok}).status_code == 204
    keys = [f"k{i}" for i in range(1001)]
    assert_error(api.post(f"{base}/getData", json={"keys": keys}), 422, "too_many_items")
    assert_error(api.delete(f"{base}/data", json={"keys": keys}), 422, "too_many_items")
    assert len(api.post(f"{base}/getData", json={"startsWith": "k"}).json()["data"]) == 1000
    assert_error(api.post(f"{base}/data", json={"data": [{"value": 1}]}), 422)
    assert_error(api.post("/lookupcaches/6650b00000000000000000ff/getData", json={"keys": []}), 404)


def test_lookup_cache_values_must_be_strings_and_sizes_are_bounded(api: Api, admin: EmulatorAdmin) -> None:
    cache = DEMO_IDS["lookupcache_sku"]
    base = f"/lookupcaches/{cache}"
    for value in (1, {"id": 1}, None, True):
        error = assert_error(api.post(f"{base}/data", json={"data": [{"key": "k", "value": value}]}), 422)
        assert "must be a string" in error["message"]
    assert api.post(f"{base}/getData", json={"keys": ["k"]}).json() == {"data": []}  # nothing stored
    # 5 MB per request: 4 entries of 1.3 MB are refused, 3 are taken.
    big = "x" * 1_300_000
    four = [{"key": f"big{i}", "value": big} for i in range(4)]
    error = assert_error(api.post(f"{base}/data", json={"data": four}), 422, "too_large")
    assert "5 MB" in error["message"]
    assert api.post(f"{base}/data", json={"data": four[:3]}).status_code == 204
    # 50 MB per cache: 13 requests of 3 x 1.3 MB fit (50.7 MB would not).
    for batch in range(1, 13):
        chunk = [{"key": f"big{batch}-{i}", "value": big} for i in range(3)]
        response = api.post(f"{base}/data", json={"data": chunk})
        if batch < 12:
            assert response.status_code == 204, batch
    assert_error(response, 422, "cache_full")
    stored = admin.data()["accounts"]["default"]["lookupData"][cache]
    assert not any(entry["key"].startswith("big12-") for entry in stored)  # the refused request changed nothing
