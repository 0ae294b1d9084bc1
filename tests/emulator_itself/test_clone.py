"""Cloning integrations, flows, exports and imports with a connection map."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from conftest import Api, assert_error

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

ACME_MAP = {
    DEMO_IDS["conn_shopify"]: DEMO_IDS["conn_acme_shopify"],
    DEMO_IDS["conn_netsuite"]: DEMO_IDS["conn_acme_netsuite"],
}


def _counts(admin: EmulatorAdmin) -> dict[str, int]:
    resources = admin.data()["accounts"]["default"]["resources"]
    return {rtype: len(docs) for rtype, docs in resources.items()}


def test_clone_integration_with_full_map(api: Api, admin: EmulatorAdmin) -> None:
    template = DEMO_IDS["integration_template"]
    response = api.post(f"/integrations/{template}/clone", json={"name": "Acme onboarding", "connectionMap": ACME_MAP})
    assert response.status_code == 201, response.text
    manifest: list[dict[str, Any]] = response.json()
    models = [m["model"] for m in manifest]
    assert models == ["Integration", "Flow", "Flow", "Export", "Export", "Import", "Import"]
    new_integration = manifest[0]["_id"]
    assert manifest[0]["name"] == "Acme onboarding"
    integration = api.get(f"/integrations/{new_integration}").json()
    assert sorted(integration["_registeredConnectionIds"]) == sorted(ACME_MAP.values())

    flows = api.get(f"/integrations/{new_integration}/flows").json()
    assert {f["name"] for f in flows} == {"Onboarding: customers", "Onboarding: orders"}
    new_ids = {m["_id"] for m in manifest}
    for flow in flows:
        assert flow["_id"] not in (DEMO_IDS["flow_onboarding_customers"], DEMO_IDS["flow_onboarding_orders"])
        assert flow["disabled"] is False
        export = api.get(f"/exports/{flow['pageGenerators'][0]['_exportId']}").json()
        imp = api.get(f"/imports/{flow['pageProcessors'][0]['_importId']}").json()
        assert export["_id"] in new_ids and imp["_id"] in new_ids
        assert export["_connectionId"] == DEMO_IDS["conn_acme_shopify"]
        assert imp["_connectionId"] == DEMO_IDS["conn_acme_netsuite"]
        assert export["_integrationId"] == new_integration
    # the source is untouched
    source_export = api.get(f"/exports/{DEMO_IDS['export_onboarding_customers']}").json()
    assert source_export["_connectionId"] == DEMO_IDS["conn_shopify"]


def test_clone_with_incomplete_map_is_400_and_creates_nothing(api: Api, admin: EmulatorAdmin) -> None:
    before = _counts(admin)
    template = DEMO_IDS["integration_template"]
    partial = {DEMO_IDS["conn_shopify"]: DEMO_IDS["conn_acme_shopify"]}
    error = assert_error(
        api.post(f"/integrations/{template}/clone", json={"connectionMap": partial}), 400, "invalid_connectionMap"
    )
    assert DEMO_IDS["conn_netsuite"] in error["message"] and DEMO_IDS["conn_shopify"] not in error["message"]
    assert_error(api.post(f"/integrations/{template}/clone", json={}), 400, "invalid_connectionMap")
    missing_target = {**ACME_MAP, DEMO_IDS["conn_netsuite"]: "6650c00000000000000000ff"}
    response = api.post(f"/integrations/{template}/clone", json={"connectionMap": missing_target})
    assert_error(response, 400, "invalid_connectionMap")
    assert _counts(admin) == before


def test_clone_flow_needs_integration_id(api: Api, admin: EmulatorAdmin) -> None:
    flow = DEMO_IDS["flow_orders"]
    before = _counts(admin)
    assert_error(api.post(f"/flows/{flow}/clone", json={"connectionMap": ACME_MAP}), 422, "invalid_ref")
    bad_integration = {"connectionMap": ACME_MAP, "_integrationId": "6650a00000000000000000ff"}
    assert_error(api.post(f"/flows/{flow}/clone", json=bad_integration), 422, "invalid_ref")
    assert _counts(admin) == before
    body = {"name": "Orders (Acme)", "connectionMap": ACME_MAP, "_integrationId": DEMO_IDS["integration_template"]}
    manifest = api.post(f"/flows/{flow}/clone", json=body).json()
    assert [m["model"] for m in manifest] == ["Flow", "Export", "Import"]
    clone = api.get(f"/flows/{manifest[0]['_id']}").json()
    assert clone["name"] == "Orders (Acme)" and clone["_integrationId"] == DEMO_IDS["integration_template"]
    assert clone["pageGenerators"][0]["_exportId"] == manifest[1]["_id"]
    assert clone["pageProcessors"][0]["_importId"] == manifest[2]["_id"]


def test_cloned_flow_keeps_disabled_and_inherits_scenario(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(clock_speed=200)
    invoices = DEMO_IDS["flow_invoices"]
    body = {"connectionMap": ACME_MAP, "_integrationId": DEMO_IDS["integration_shop"]}
    clone_id = api.post(f"/flows/{invoices}/clone", json=body).json()[0]["_id"]
    job = api.wait_job(api.run(clone_id), {"completed", "failed"})
    assert job["status"] == "completed" and job["numError"] == 3
    legacy = DEMO_IDS["flow_legacy_ftp"]
    same = {DEMO_IDS[k]: DEMO_IDS[k] for k in ("conn_legacy_ftp", "conn_snowflake")}  # map to themselves
    body = {"connectionMap": same, "_integrationId": DEMO_IDS["integration_shop"]}
    legacy_clone = api.post(f"/flows/{legacy}/clone", json=body)
    assert api.get(f"/flows/{legacy_clone.json()[0]['_id']}").json()["disabled"] is True


def test_clone_export_and_import(api: Api) -> None:
    export = DEMO_IDS["export_orders"]
    body = {"name": "Acme orders", "connectionMap": {DEMO_IDS["conn_shopify"]: DEMO_IDS["conn_acme_shopify"]}}
    manifest = api.post(f"/exports/{export}/clone", json=body).json()
    assert manifest == [{"model": "Export", "_id": manifest[0]["_id"], "name": "Acme orders"}]
    assert api.get(f"/exports/{manifest[0]['_id']}").json()["_connectionId"] == DEMO_IDS["conn_acme_shopify"]
    unmapped = api.post(f"/imports/{DEMO_IDS['import_orders']}/clone", json={"name": "x"})
    assert_error(unmapped, 400, "invalid_connectionMap")
    assert_error(api.post(f"/connections/{DEMO_IDS['conn_shopify']}/clone", json={}), 404)


def test_clone_can_answer_with_the_cloned_document(api: Api, admin: EmulatorAdmin) -> None:
    admin.configure(clone_answer="document")
    try:
        template = DEMO_IDS["integration_template"]
        response = api.post(f"/integrations/{template}/clone", json={"name": "Doc answer", "connectionMap": ACME_MAP})
        assert response.status_code == 201, response.text
        doc = response.json()
        assert isinstance(doc, dict) and doc["name"] == "Doc answer" and doc["_id"] != template
        assert sorted(doc["_registeredConnectionIds"]) == sorted(ACME_MAP.values())
        flows = api.get(f"/integrations/{doc['_id']}/flows").json()
        assert len(flows) == 2
        export = DEMO_IDS["export_onboarding_customers"]
        answer = api.post(f"/exports/{export}/clone", json={"connectionMap": ACME_MAP}).json()
        assert answer["_connectionId"] == DEMO_IDS["conn_acme_shopify"] and answer["_id"] != export
        with pytest.raises(requests.HTTPError, match="422"):
            admin.configure(clone_answer="both")
    finally:
        admin.configure(clone_answer="manifest")
