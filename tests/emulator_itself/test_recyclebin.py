"""Recycle bin: listing, cascade delete and restore, purge."""

from __future__ import annotations

from conftest import Api, assert_error

from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS


def test_delete_restore_purge(api: Api) -> None:
    conn = DEMO_IDS["conn_acme_shopify"]
    assert api.delete(f"/connections/{conn}").status_code == 204
    items = api.get("/recycleBinTTL").json()
    entry = next(i for i in items if i["doc"]["_id"] == conn)
    assert entry["model"] == "Connection"
    assert entry["doc"]["http"]["auth"]["token"]["token"] == "******"  # masked in the bin too
    restored = api.post(f"/recycleBinTTL/connections/{conn}/doCascadeRestore", json={})
    assert restored.status_code == 200
    assert api.get(f"/connections/{conn}").status_code == 200
    assert_error(api.post(f"/recycleBinTTL/connections/{conn}/doCascadeRestore", json={}), 404)

    assert api.delete(f"/connections/{conn}").status_code == 204
    assert api.delete(f"/recycleBinTTL/connections/{conn}").status_code == 204
    assert all(i["doc"]["_id"] != conn for i in api.get("/recycleBinTTL").json())
    assert_error(api.post(f"/recycleBinTTL/connections/{conn}/doCascadeRestore", json={}), 404)
    assert_error(api.delete(f"/recycleBinTTL/connections/{conn}"), 404)


def test_integration_delete_cascades_flows_and_restore_brings_them_back(api: Api) -> None:
    template = DEMO_IDS["integration_template"]
    flows = [DEMO_IDS["flow_onboarding_customers"], DEMO_IDS["flow_onboarding_orders"]]
    assert api.delete(f"/integrations/{template}").status_code == 204
    for flow in flows:
        assert api.get(f"/flows/{flow}").status_code == 404
    models = {(i["model"], i["doc"]["_id"]) for i in api.get("/recycleBinTTL").json()}
    assert ("Integration", template) in models and {("Flow", f) for f in flows} <= models
    restored = api.post(f"/recycleBinTTL/integrations/{template}/doCascadeRestore")
    assert restored.status_code == 200
    assert {r["_id"] for r in restored.json()} == {template, *flows}
    for flow in flows:
        assert api.get(f"/flows/{flow}").status_code == 200
    assert api.get("/recycleBinTTL").json() == []


def test_model_names_are_accepted_as_type(api: Api) -> None:
    cache = DEMO_IDS["lookupcache_sku"]
    api.delete(f"/lookupcaches/{cache}")
    assert next(i for i in api.get("/recycleBinTTL").json())["model"] == "LookupCache"
    assert api.post(f"/recycleBinTTL/LookupCache/{cache}/doCascadeRestore").status_code == 200
    assert_error(api.delete("/recycleBinTTL/widgets/6650b0000000000000000001"), 404)
