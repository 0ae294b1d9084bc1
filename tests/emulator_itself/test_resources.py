"""CRUD on every resource type, validation errors, child lists, filters, ping, replaceConnection."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Api, assert_error

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
HEX24 = re.compile(r"^[0-9a-f]{24}$")

BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "integrations": ("Integration", {"name": "New integration"}),
    "flows": ("Flow", {"name": "New flow", "disabled": True}),
    "exports": ("Export", {"name": "New export", "_connectionId": DEMO_IDS["conn_shopify"]}),
    "imports": ("Import", {"name": "New import", "_connectionId": DEMO_IDS["conn_netsuite"]}),
    "connections": ("Connection", {"type": "http", "name": "New conn", "http": {"baseURI": "https://x"}}),
    "scripts": ("Script", {"name": "New script", "content": "function x() {}"}),
    "lookupcaches": ("LookupCache", {"name": "New cache"}),
    "agents": ("Agent", {"name": "New agent"}),
    "iclients": ("IClient", {"name": "New iclient", "oauth2": {"clientId": "a", "clientSecret": "b"}}),
    "stacks": ("Stack", {"name": "New stack"}),
    "apis": ("Api", {"name": "New api"}),
    "accesstokens": ("AccessToken", {"name": "New token", "token": "abcdef"}),
    "tags": ("Tag", {"tag": "new-tag"}),
}


@pytest.mark.parametrize("rtype", sorted(BODIES))
def test_crud_round_trip(api: Api, rtype: str) -> None:
    model, body = BODIES[rtype]
    created = api.post(f"/{rtype}", json=body)
    assert created.status_code == 201, created.text
    doc = created.json()
    assert HEX24.match(doc["_id"])
    assert ISO_MS.match(doc["createdAt"]) and ISO_MS.match(doc["lastModified"])
    assert api.get(f"/{rtype}/{doc['_id']}").json()["_id"] == doc["_id"]

    replacement = {**body, "description": "replaced"}
    if rtype in ("exports", "imports", "iclients", "accesstokens"):
        replacement.pop("name")
    replaced = api.put(f"/{rtype}/{doc['_id']}", json=replacement)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["description"] == "replaced"
    assert replaced.json()["createdAt"] == doc["createdAt"]
    if rtype in ("exports", "imports", "iclients", "accesstokens"):
        assert "name" not in api.get(f"/{rtype}/{doc['_id']}").json()  # PUT is a full replace

    listed = api.get(f"/{rtype}", params={"limit": 1000})
    ids = [d["_id"] for d in _all_pages(api, f"/{rtype}")]
    assert listed.status_code == 200 and doc["_id"] in ids

    assert api.delete(f"/{rtype}/{doc['_id']}").status_code == 204
    assert_error(api.get(f"/{rtype}/{doc['_id']}"), 404, "not_found")
    bin_items = api.get("/recycleBinTTL").json()
    assert {"model": model, "_id": doc["_id"]} in [{"model": i["model"], "_id": i["doc"]["_id"]} for i in bin_items]


def _all_pages(api: Api, path: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    url: str | None = path
    while url:
        response = api.get(url)
        if response.status_code == 204:
            return out
        out.extend(response.json())
        url = response.links.get("next", {}).get("url")
    return out


def test_unknown_and_malformed_ids_get_404(api: Api) -> None:
    assert_error(api.get("/flows/6650f00000000000000000ff"), 404, "not_found")
    assert_error(api.get("/flows/not-an-id"), 404, "invalid_ref")
    assert_error(api.put("/flows/6650f00000000000000000ff", json={"name": "x"}), 404)
    assert_error(api.delete("/connections/xyz"), 404, "invalid_ref")
    assert_error(api.patch("/flows/6650f00000000000000000ff", json=[]), 404)


def test_validation_errors_name_the_field(api: Api) -> None:
    assert assert_error(api.post("/flows", json={"description": "no name"}), 422)["field"] == "name"
    assert assert_error(api.post("/connections", json={"name": "no type"}), 422)["field"] == "type"
    assert assert_error(api.post("/flows", json=["not", "an", "object"]), 422)["field"] == "body"
    assert assert_error(api.post("/flows", json={"name": "x", "disabled": "yes"}), 422)["field"] == "disabled"
    bad_ref = api.post("/exports", json={"name": "e", "_connectionId": "6650c00000000000000000ff"})
    assert assert_error(bad_ref, 422, "invalid_ref")["field"] == "_connectionId"
    flow = DEMO_IDS["flow_orders"]
    assert assert_error(api.put(f"/flows/{flow}", json={"disabled": False}), 422)["field"] == "name"


def test_body_content_type_and_syntax(api: Api) -> None:
    text = {"Content-Type": "text/plain"}
    assert_error(api.post("/flows", data='{"name": "x"}', headers=text), 415, "unsupported_media_type")
    as_json = {"Content-Type": "application/json"}
    assert_error(api.post("/flows", data='{"name": ', headers=as_json), 400, "malformed_json")
    flow = DEMO_IDS["flow_orders"]
    assert_error(api.put(f"/flows/{flow}", data="{oops", headers=as_json), 400, "malformed_json")
    assert_error(api.patch(f"/flows/{flow}", data="[", headers=as_json), 400)
    assert_error(api.patch(f"/flows/{flow}", data="[]", headers=text), 415)


def test_integration_child_lists(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(page_size=100)
    shop = DEMO_IDS["integration_shop"]
    flows = api.get(f"/integrations/{shop}/flows").json()
    shop_flows = ("orders", "customers", "inventory", "invoices", "refunds", "legacy_ftp")
    assert {f["_id"] for f in flows} == {DEMO_IDS[f"flow_{name}"] for name in shop_flows}
    connections = {c["_id"] for c in api.get(f"/integrations/{shop}/connections").json()}
    assert connections == {DEMO_IDS[k] for k in ("conn_shopify", "conn_netsuite", "conn_snowflake", "conn_legacy_ftp")}
    exports = {e["_id"] for e in api.get(f"/integrations/{shop}/exports").json()}
    assert DEMO_IDS["export_orders"] in exports and DEMO_IDS["export_onboarding_orders"] not in exports
    imports = {i["_id"] for i in api.get(f"/integrations/{shop}/imports").json()}
    assert DEMO_IDS["import_customers_warehouse"] in imports
    assert_error(api.get("/integrations/6650a00000000000000000ff/flows"), 404)


def test_list_filters(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(page_size=100)
    template = api.get("/flows", params={"_integrationId": DEMO_IDS["integration_template"]}).json()
    assert {f["name"] for f in template} == {"Onboarding: customers", "Onboarding: orders"}
    disabled = api.get("/flows", params={"disabled": "true"}).json()
    assert [f["_id"] for f in disabled] == [DEMO_IDS["flow_legacy_ftp"]]
    named = api.get("/flows", params={"name": "Orders to NetSuite"}).json()
    assert [f["_id"] for f in named] == [DEMO_IDS["flow_orders"]]
    offline = api.get("/connections", params={"offline": "true"}).json()
    assert [c["name"] for c in offline] == ["Legacy FTP"]
    projected = api.get("/flows", params={"include": "name", "name": "Orders to NetSuite"}).json()
    assert projected == [{"_id": DEMO_IDS["flow_orders"], "name": "Orders to NetSuite"}]
    assert_error(api.get("/flows", params={"include": "name", "exclude": "x"}), 400, "invalid_query_params")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_ping_online_and_offline(api: Api, method: str) -> None:
    online = api.request(method, f"/connections/{DEMO_IDS['conn_shopify']}/ping")
    assert online.status_code == 200 and online.json() == {"code": 200}
    offline = api.request(method, f"/connections/{DEMO_IDS['conn_legacy_ftp']}/ping")
    assert offline.status_code == 200
    assert offline.json()["errors"][0]["code"] == "offline"
    assert_error(api.request(method, "/connections/6650c00000000000000000ff/ping"), 404)


def test_replace_connection(api: Api) -> None:
    flow = DEMO_IDS["flow_orders"]
    body = {"_connectionId": DEMO_IDS["conn_shopify"], "_newConnectionId": DEMO_IDS["conn_acme_shopify"]}
    assert api.put(f"/flows/{flow}/replaceConnection", json=body).status_code == 204
    export = api.get(f"/exports/{DEMO_IDS['export_orders']}").json()
    assert export["_connectionId"] == DEMO_IDS["conn_acme_shopify"]
    imp = api.get(f"/imports/{DEMO_IDS['import_orders']}").json()
    assert imp["_connectionId"] == DEMO_IDS["conn_netsuite"]
    bad = {"_connectionId": DEMO_IDS["conn_shopify"], "_newConnectionId": "6650c00000000000000000ff"}
    assert_error(api.put(f"/flows/{flow}/replaceConnection", json=bad), 422, "invalid_ref")
    swap = api.put(
        f"/imports/{DEMO_IDS['import_orders']}/replaceConnection",
        json={"_newConnectionId": DEMO_IDS["conn_acme_netsuite"]},
    )
    assert swap.status_code == 204
    assert api.get(f"/imports/{DEMO_IDS['import_orders']}").json()["_connectionId"] == DEMO_IDS["conn_acme_netsuite"]


def test_put_cannot_flip_offline(api: Api) -> None:
    conn = api.get(f"/connections/{DEMO_IDS['conn_legacy_ftp']}").json()
    replaced = api.put(f"/connections/{conn['_id']}", json={**conn, "offline": False}).json()
    assert replaced["offline"] is True
