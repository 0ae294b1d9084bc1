"""Secret masking, masked values written back, and the JSON Patch whitelist."""

from __future__ import annotations

from typing import Any

from conftest import Api, assert_error

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

MASK = "******"


def _stored(admin: EmulatorAdmin, rtype: str, rid: str) -> dict[str, Any]:
    docs = admin.data()["accounts"]["default"]["resources"][rtype]
    return next(d for d in docs if d["_id"] == rid)


def test_secrets_are_masked_on_every_read(api: Api, admin: EmulatorAdmin) -> None:
    shopify = api.get(f"/connections/{DEMO_IDS['conn_shopify']}").json()
    assert shopify["http"]["auth"]["token"]["token"] == MASK
    assert shopify["http"]["auth"]["token"]["location"] == "header"
    assert api.get(f"/connections/{DEMO_IDS['conn_netsuite']}").json()["netsuite"]["password"] == MASK
    assert api.get(f"/iclients/{DEMO_IDS['iclient_shopify']}").json()["oauth2"]["clientSecret"] == MASK
    assert api.get(f"/accesstokens/{DEMO_IDS['accesstoken_airflow']}").json()["token"] == MASK
    admin.configure(page_size=100)
    listed = api.get("/connections").json()
    assert all(c[c["type"]].get("password", MASK) == MASK for c in listed)
    created = api.post("/connections", json={"type": "http", "http": {"auth": {"basic": {"password": "p"}}}})
    assert created.json()["http"]["auth"]["basic"]["password"] == MASK
    assert _stored(admin, "connections", DEMO_IDS["conn_netsuite"])["netsuite"]["password"] == "ns-demo-pass"


def test_connection_put_with_masked_secret_stores_the_mask_and_is_logged(api: Api, admin: EmulatorAdmin) -> None:
    # celigo/ai configuring-connections: a GET -> PUT round trip of a connection corrupts its credentials.
    conn_id = DEMO_IDS["conn_shopify"]
    doc = api.get(f"/connections/{conn_id}").json()
    doc["name"] = "Renamed"
    assert api.put(f"/connections/{conn_id}", json=doc).status_code == 200
    stored = _stored(admin, "connections", conn_id)
    assert stored["name"] == "Renamed"
    assert stored["http"]["auth"]["token"]["token"] == MASK
    log = admin.requests_log()
    put = [r for r in log if r["method"] == "PUT" and r["path"].endswith(conn_id)]
    assert put and put[-1]["masked_secret_written"] is True
    assert not any(r["masked_secret_written"] for r in log if r["method"] == "GET")


def test_iclient_put_with_masked_secret_keeps_it_and_omitting_it_erases_it(api: Api, admin: EmulatorAdmin) -> None:
    # celigo/ai iclient-schemas/request.yml: re-send the mask to keep a secret; it is not preserved if omitted.
    admin.configure(keep_secret_on_mask_write=False)  # the documented iClient rule does not depend on the switch
    rid = DEMO_IDS["iclient_shopify"]
    doc = api.get(f"/iclients/{rid}").json()
    assert doc["oauth2"]["clientSecret"] == MASK and doc["oauth2"]["clientId"] != MASK
    secret = _stored(admin, "iclients", rid)["oauth2"]["clientSecret"]
    doc["name"] = "Shopify app v2"
    assert api.put(f"/iclients/{rid}", json=doc).status_code == 200
    assert _stored(admin, "iclients", rid)["oauth2"]["clientSecret"] == secret
    del doc["oauth2"]["clientSecret"]
    assert api.put(f"/iclients/{rid}", json=doc).status_code == 200
    assert "clientSecret" not in _stored(admin, "iclients", rid)["oauth2"]


def test_iclient_schema_secrets_are_masked(api: Api) -> None:
    body = {
        "provider": "netsuite",
        "netsuite": {"consumerKey": "ck", "consumerSecret": "cs"},
        "jwt": {"privateKey": "pk", "signatureMethod": "RS256"},
        "oauth2": {"clientId": "visible", "encrypted": {"apiKey": "k1"}},
    }
    created = api.post("/iclients", json=body).json()
    assert created["netsuite"] == {"consumerKey": MASK, "consumerSecret": MASK}
    assert created["jwt"] == {"privateKey": MASK, "signatureMethod": "RS256"}
    assert created["oauth2"] == {"clientId": "visible", "encrypted": {"apiKey": MASK}}


def test_agent_and_stack_tokens_are_masked(api: Api, admin: EmulatorAdmin) -> None:
    agent = api.post("/agents", json={"name": "agent", "token": "agent-secret"}).json()
    assert agent["token"] == MASK
    stack = api.post("/stacks", json={"name": "s", "type": "server", "systemToken": "st", "server": {"x": 1}}).json()
    assert stack["systemToken"] == MASK and stack["server"] == {"x": 1}
    assert _stored(admin, "agents", agent["_id"])["token"] == "agent-secret"


def test_undocumented_types_follow_the_switch(api: Api, admin: EmulatorAdmin) -> None:
    rid = DEMO_IDS["accesstoken_airflow"]
    original = _stored(admin, "accesstokens", rid)["token"]
    doc = api.get(f"/accesstokens/{rid}").json()
    api.put(f"/accesstokens/{rid}", json=doc)
    assert _stored(admin, "accesstokens", rid)["token"] == original
    admin.configure(keep_secret_on_mask_write=False)
    api.put(f"/accesstokens/{rid}", json=doc)
    assert _stored(admin, "accesstokens", rid)["token"] == MASK


def test_put_with_real_secret_is_not_flagged(api: Api, admin: EmulatorAdmin) -> None:
    conn_id = DEMO_IDS["conn_netsuite"]
    doc = api.get(f"/connections/{conn_id}").json()
    doc["netsuite"]["password"] = "new-pass"
    api.put(f"/connections/{conn_id}", json=doc)
    assert _stored(admin, "connections", conn_id)["netsuite"]["password"] == "new-pass"
    assert admin.requests_log()[-1]["masked_secret_written"] is False


def test_patch_whitelisted_flow_paths(api: Api) -> None:
    flow = DEMO_IDS["flow_orders"]
    ops = [
        {"op": "replace", "path": "/disabled", "value": True},
        {"op": "replace", "path": "/name", "value": "Orders v2"},
        {"op": "add", "path": "/schedule", "value": "? */5 * * * *"},
        {"op": "replace", "path": "/pageGenerators/0/skipRetries", "value": True},
    ]
    response = api.patch(f"/flows/{flow}", json=ops)
    assert response.status_code == 204 and response.content == b""
    doc = api.get(f"/flows/{flow}").json()
    assert doc["disabled"] is True and doc["name"] == "Orders v2" and doc["schedule"] == "? */5 * * * *"
    assert doc["pageGenerators"][0]["skipRetries"] is True
    assert api.patch(f"/flows/{flow}", json=[{"op": "remove", "path": "/schedule"}]).status_code == 204
    assert "schedule" not in api.get(f"/flows/{flow}").json()


def test_patch_rejects_other_paths(api: Api) -> None:
    flow = DEMO_IDS["flow_orders"]
    bad = api.patch(f"/flows/{flow}", json=[{"op": "replace", "path": "/_integrationId", "value": "x"}])
    error = assert_error(bad, 422, "invalid_patch")
    assert error["field"] == "/_integrationId" and "/disabled" in error["message"]
    offline = [{"op": "replace", "path": "/offline", "value": False}]
    assert_error(api.patch(f"/connections/{DEMO_IDS['conn_legacy_ftp']}", json=offline), 422, "invalid_patch")
    export_ops = [{"op": "replace", "path": "/_connectionId", "value": DEMO_IDS["conn_acme_shopify"]}]
    assert_error(api.patch(f"/exports/{DEMO_IDS['export_orders']}", json=export_ops), 422, "invalid_patch")
    assert_error(api.patch(f"/flows/{flow}", json={"op": "replace"}), 422)
    assert_error(api.patch(f"/flows/{flow}", json=[{"op": "replace", "path": "/disabled", "value": "no"}]), 422)
    assert_error(api.patch(f"/flows/{flow}", json=[{"op": "remove", "path": "/name"}]), 422)
    assert api.get(f"/flows/{flow}").json()["name"] == "Orders to NetSuite"  # nothing applied


def test_patch_other_types(api: Api, admin: EmulatorAdmin) -> None:
    conn = DEMO_IDS["conn_shopify"]
    ops = [
        {"op": "replace", "path": "/name", "value": "Shop"},
        {"op": "replace", "path": "/debugDate", "value": "2030-01-01T00:00:00.000Z"},
    ]
    assert api.patch(f"/connections/{conn}", json=ops).status_code == 204
    token_op = [{"op": "replace", "path": "/http/auth/token/token", "value": MASK}]
    assert api.patch(f"/connections/{conn}", json=token_op).status_code == 204
    assert _stored(admin, "connections", conn)["http"]["auth"]["token"]["token"] == MASK  # a connection stores it
    assert admin.requests_log()[-1]["masked_secret_written"] is True
    for rtype, rid in (
        ("integrations", DEMO_IDS["integration_shop"]),
        ("scripts", DEMO_IDS["script_normalize"]),
        ("apis", DEMO_IDS["api_order_status"]),
    ):
        ops = [{"op": "replace", "path": "/description", "value": "patched"}]
        assert api.patch(f"/{rtype}/{rid}", json=ops).status_code == 204, rtype
        assert api.get(f"/{rtype}/{rid}").json()["description"] == "patched"
    tag_ops = [{"op": "replace", "path": "/tag", "value": "prod"}]
    assert api.patch(f"/tags/{DEMO_IDS['tag_production']}", json=tag_ops).status_code == 204


def test_patch_whitelists_are_the_providers(api: Api, admin: EmulatorAdmin) -> None:
    from airflow_provider_celigo.resource_types import RESOURCE_FACTS, ResourceType
    from airflow_provider_celigo.testing.emulator.resources import RESOURCE_TYPES

    for kind, facts in RESOURCE_FACTS.items():
        assert RESOURCE_TYPES[kind.value].allowed_patch_paths(True) == facts.all_patch_paths, kind
    description = [{"op": "replace", "path": "/description", "value": "patched"}]
    for rtype, rid in (("exports", DEMO_IDS["export_orders"]), ("imports", DEMO_IDS["import_orders"])):
        assert_error(api.patch(f"/{rtype}/{rid}", json=description), 422, "invalid_patch")
    script = DEMO_IDS["script_normalize"]
    debug = [{"op": "replace", "path": "/debugUntil", "value": "2030-01-01T00:00:00.000Z"}]
    assert api.patch(f"/scripts/{script}", json=debug).status_code == 204
    assert api.get(f"/scripts/{script}").json()["debugUntil"] == "2030-01-01T00:00:00.000Z"
    assert_error(api.patch(f"/scripts/{script}", json=[{"op": "replace", "path": "/content", "value": "x"}]), 422)
    admin.configure(accept_guessed_patch_paths=False)
    try:
        assert_error(api.patch(f"/scripts/{script}", json=description), 422, "invalid_patch")
        assert api.patch(f"/scripts/{script}", json=debug).status_code == 204  # documented: still accepted
        integration = DEMO_IDS["integration_shop"]
        assert_error(api.patch(f"/integrations/{integration}", json=description), 422, "invalid_patch")
        assert ResourceType.FLOWS.facts.guessed_patch_paths == ()
    finally:
        admin.configure(accept_guessed_patch_paths=True)
