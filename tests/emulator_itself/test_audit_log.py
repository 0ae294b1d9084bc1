"""The emulator's audit log: entries recorded on writes, ``GET /audit`` filters and paging, ``GET /{type}/{id}/audit``,
and the admin route that seeds many entries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from conftest import Api, assert_error

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer


def all_pages(api: Api, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Follow the Link header from ``path``; return every item and the number of pages."""
    items: list[dict[str, Any]] = []
    response = api.get(path, params=params)
    pages = 0
    while True:
        assert response.status_code == 200, response.text
        items.extend(response.json())
        pages += 1
        following = response.links.get("next", {}).get("url")
        if not following:
            return items, pages
        response = api.get(following)


def seed_entries(server: EmulatorServer, **body: Any) -> dict[str, Any]:
    response = requests.post(f"{server.admin.root_url}/_emulator/audit", json=body, timeout=10)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_seeding_records_nothing_and_writes_record_create_update_delete(api: Api) -> None:
    assert api.get("/audit").json() == []
    tag = api.post("/tags", json={"tag": "audited"}).json()["_id"]
    assert api.put(f"/tags/{tag}", json={"tag": "renamed"}).status_code == 200
    assert api.patch(f"/tags/{tag}", json=[{"op": "replace", "path": "/tag", "value": "n"}]).status_code == 204
    assert api.delete(f"/tags/{tag}").status_code == 204

    entries, _ = all_pages(api, "/audit")
    assert [e["event"] for e in entries] == ["delete", "update", "update", "create"]  # newest first
    assert {e["resourceType"] for e in entries} == {"tag"} and {e["_resourceId"] for e in entries} == {tag}
    assert entries[2]["fieldChanges"] == [{"fieldPath": "tag", "oldValue": "audited", "newValue": "renamed"}]
    assert entries[1]["fieldChanges"] == [{"fieldPath": "tag", "oldValue": "renamed", "newValue": "n"}]
    assert {e["source"] for e in entries} == {"api"}
    assert all(
        set(e) == {"_id", "resourceType", "_resourceId", "source", "event", "time", "fieldChanges", "byUser"}
        for e in entries
    )
    user = api.get("/tokenInfo").json()["_userId"]
    assert {e["byUser"]["_id"] for e in entries} == {user}


def test_secrets_never_enter_the_log(api: Api) -> None:
    connection = DEMO_IDS["conn_shopify"]
    document = api.get(f"/connections/{connection}").json()
    document["http"]["auth"]["token"]["token"] = "brand-new-secret-value"
    assert api.put(f"/connections/{connection}", json=document).status_code == 200
    agent = DEMO_IDS["agent_onprem"]
    assert api.put(f"/agents/{agent}/change-token").status_code == 200
    text = api.get("/audit").text
    assert "brand-new-secret-value" not in text
    assert api.get(f"/agents/{agent}/display-token").json()["token"] not in text


def test_filters(api: Api, server: EmulatorServer) -> None:
    seed_entries(server, count=30, start=1_780_000_000.0, step_seconds=60.0, resource_ids=[DEMO_IDS["flow_orders"]])
    tag = api.post("/tags", json={"tag": "x"}).json()["_id"]
    flow_entries, _ = all_pages(api, "/audit", resourceType="flow")
    assert len(flow_entries) == 30
    assert all_pages(api, "/audit", resourceType="tag")[0][0]["_resourceId"] == tag
    assert len(all_pages(api, "/audit", _resourceId=DEMO_IDS["flow_orders"])[0]) == 30
    assert len(all_pages(api, "/audit", action="create")[0]) == 1
    assert len(all_pages(api, "/audit", source="ui")[0]) == 15  # seeded entries alternate ui / api
    # from/to are inclusive; ISO-8601 and epoch milliseconds both work
    start = datetime.fromtimestamp(1_780_000_000 + 5 * 60, tz=timezone.utc)
    window, _ = all_pages(api, "/audit", **{"from": start.isoformat()}, to=(start + timedelta(minutes=2)).isoformat())
    assert [e["time"][11:16] for e in window] == [(start + timedelta(minutes=m)).strftime("%H:%M") for m in (2, 1, 0)]
    first, last = 1_780_000_000_000, 1_780_000_000_000 + 9 * 60_000
    assert len(all_pages(api, "/audit", **{"from": first}, to=last)[0]) == 10
    stranger = "0" * 24
    assert all_pages(api, "/audit", _byUserId=stranger)[0] == []


def test_bad_filters_are_400(api: Api) -> None:
    assert_error(api.get("/audit", params={"from": "yesterday"}), 400, "invalid_query")
    assert_error(api.get("/audit", params={"action": "explode"}), 400, "invalid_query")
    assert_error(api.get("/audit", params={"source": "fax"}), 400, "invalid_query")


def test_paging_follows_link_and_keeps_filters(api: Api, server: EmulatorServer) -> None:
    seed_entries(server, count=10, resource_type="flow")
    seed_entries(server, count=4, resource_type="export")
    entries, pages = all_pages(api, "/audit", resourceType="flow")  # page size 3 (conftest)
    assert len(entries) == 10 and pages == 4
    assert len({e["_id"] for e in entries}) == 10
    times = [e["time"] for e in entries]
    assert times == sorted(times, reverse=True)


def test_one_resource_audit_and_404(api: Api) -> None:
    integration = DEMO_IDS["integration_template"]
    register = api.put(f"/integrations/{integration}/connections/register", json=[DEMO_IDS["conn_acme_shopify"]])
    assert register.status_code == 204
    entries, _ = all_pages(api, f"/integrations/{integration}/audit")
    assert [e["fieldChanges"][0]["fieldPath"] for e in entries] == ["_registeredConnectionIds"]
    tag = api.post("/tags", json={"tag": "gone"}).json()["_id"]
    api.delete(f"/tags/{tag}")
    assert [e["event"] for e in all_pages(api, f"/tags/{tag}/audit")[0]] == ["delete", "create"]
    assert_error(api.get(f"/flows/{'f' * 24}/audit"), 404, "not_found")
    assert_error(api.get("/widgets/6650f0000000000000000001/audit"), 404, "not_found")


def test_admin_seed_checks_its_body(admin: EmulatorAdmin, server: EmulatorServer) -> None:
    for bad in ({}, {"count": 0}, {"count": "9"}, {"count": 2, "start": "now"}, {"count": 2, "resource_ids": []}):
        response = requests.post(f"{admin.root_url}/_emulator/audit", json=bad, timeout=10)
        assert response.status_code == 422, (bad, response.text)
    assert seed_entries(server, count=5) == {"added": 5, "total": 5}


def test_a_dump_can_carry_audit_entries(admin: EmulatorAdmin, api: Api) -> None:
    entry = {
        "resourceType": "flow",
        "_resourceId": DEMO_IDS["flow_orders"],
        "event": "update",
        "source": "ui",
        "time": "2026-01-02T03:04:05.678Z",
    }
    admin.seed({"audit": [entry]})
    [found] = api.get("/audit").json()
    assert {k: found[k] for k in entry} == entry and found["fieldChanges"] == []


def test_a_clone_records_one_create_per_new_resource(api: Api) -> None:
    body = {
        "name": "Acme",
        "connectionMap": {
            DEMO_IDS["conn_shopify"]: DEMO_IDS["conn_acme_shopify"],
            DEMO_IDS["conn_netsuite"]: DEMO_IDS["conn_acme_netsuite"],
        },
    }
    response = api.post(f"/integrations/{DEMO_IDS['integration_template']}/clone", json=body)
    assert response.status_code == 201, response.text
    manifest = response.json()
    created, _ = all_pages(api, "/audit", action="create")
    assert sorted(e["_resourceId"] for e in created) == sorted(item["_id"] for item in manifest)
