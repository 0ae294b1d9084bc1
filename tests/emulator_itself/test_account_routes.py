"""The emulator's users (``/ashares``, ``/invite``), registered connections, integration-app settings and the token
extras of API tokens and agents."""

from __future__ import annotations

from conftest import Api, assert_error

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

TEMPLATE = DEMO_IDS["integration_template"]
ACME_SHOPIFY, ACME_NETSUITE = DEMO_IDS["conn_acme_shopify"], DEMO_IDS["conn_acme_netsuite"]


def registered(api: Api, integration: str = TEMPLATE) -> list[str]:
    ids: list[str] = api.get(f"/integrations/{integration}").json()["_registeredConnectionIds"]
    return ids


# -- users ---------------------------------------------------------------------------------------------------


def test_every_account_starts_with_two_users_and_lists_them_paged(api: Api) -> None:
    first = api.get("/ashares")
    assert first.status_code == 200
    users = first.json()
    assert [u["accessLevel"] for u in users] == ["administrator", "monitor"]
    assert all(u["accepted"] and not u["disabled"] for u in users)
    assert {u["sharedWithUser"]["email"] for u in users} == {"ops-admin@example.com", "night-monitor@example.com"}
    assert api.get(f"/ashares/{users[0]['_id']}").json() == users[0]


def test_invite_update_disable_and_remove(api: Api) -> None:
    invited = api.post("/invite", json={"email": "new@acme.example", "accessLevel": "monitor"})
    assert invited.status_code == 201, invited.text
    share = invited.json()
    assert share["accepted"] is False and share["sharedWithUser"]["email"] == "new@acme.example"
    assert_error(api.post("/invite", json={"email": "NEW@acme.example", "accessLevel": "manage"}), 409, "conflict")
    assert api.put(f"/ashares/{share['_id']}/reinvite").status_code == 200

    grant = [{"_integrationId": TEMPLATE, "accessLevel": "manage"}]
    updated = api.put(f"/ashares/{share['_id']}", json={"integrationAccessLevel": grant})
    assert updated.status_code == 200
    assert "accessLevel" not in updated.json()  # a PUT erases what it omits
    assert updated.json()["integrationAccessLevel"] == grant
    assert [u["_id"] for u in api.get(f"/integrations/{TEMPLATE}/ashares").json()].count(share["_id"]) == 1

    assert api.put(f"/ashares/{share['_id']}/disable").json()["disabled"] is True
    assert api.put(f"/ashares/{share['_id']}/disable").json()["disabled"] is False  # it toggles
    assert api.delete(f"/ashares/{share['_id']}").status_code == 204
    assert_error(api.get(f"/ashares/{share['_id']}"), 404, "not_found")
    entries = api.get("/audit", params={"_resourceId": share["_id"], "limit": 3}).json()
    assert [e["event"] for e in entries] == ["delete", "update", "update"]
    assert {e["resourceType"] for e in entries} == {"ashare"}


def test_invite_and_update_refuse_bad_bodies(api: Api) -> None:
    assert_error(api.post("/invite", json={"accessLevel": "monitor"}), 422, "invalid_email")
    assert_error(api.post("/invite", json={"email": "x@y.example", "accessLevel": "owner"}), 422)
    bad_grant = {
        "email": "x@y.example",
        "integrationAccessLevel": [{"_integrationId": "a" * 24, "accessLevel": "manage"}],
    }
    assert_error(api.post("/invite", json=bad_grant), 422, "invalid_ref")
    share = api.get("/ashares").json()[0]["_id"]
    assert_error(api.put(f"/ashares/{share}", json={"integrationAccessLevel": "all"}), 422)
    assert_error(api.put(f"/ashares/{share}/reinvite"), 422, "already_accepted")
    assert_error(api.put(f"/ashares/{'b' * 24}/disable"), 404)
    assert_error(api.get(f"/integrations/{'c' * 24}/ashares"), 404)


# -- registered connections ------------------------------------------------------------------------------------


def test_register_and_deregister(api: Api) -> None:
    path = f"/integrations/{TEMPLATE}/connections/register"
    assert api.put(path, json=[ACME_SHOPIFY, ACME_NETSUITE]).status_code == 204
    assert registered(api)[-2:] == [ACME_SHOPIFY, ACME_NETSUITE]
    assert api.put(path, json=[ACME_SHOPIFY]).status_code == 204  # idempotent
    assert registered(api).count(ACME_SHOPIFY) == 1
    assert api.delete(f"/integrations/{TEMPLATE}/connections/{ACME_SHOPIFY}/register").status_code == 204
    assert ACME_SHOPIFY not in registered(api)
    assert_error(api.delete(f"/integrations/{TEMPLATE}/connections/{ACME_SHOPIFY}/register"), 404, "not_found")


def test_register_refuses_bad_bodies_and_unknown_ids(api: Api) -> None:
    path = f"/integrations/{TEMPLATE}/connections/register"
    assert_error(api.put(path, json={"ids": [ACME_SHOPIFY]}), 422, "invalid_body")
    assert_error(api.put(path, json=[]), 422, "invalid_body")
    assert_error(api.put(path, json=["d" * 24]), 422, "invalid_ref")
    assert_error(api.put(f"/integrations/{'e' * 24}/connections/register", json=[ACME_SHOPIFY]), 404)


# -- integration-app settings ----------------------------------------------------------------------------------


def test_persist_settings_for_an_integration_app_only(api: Api, admin: EmulatorAdmin) -> None:
    app_id = "6650a00000000000000000a1"
    admin.seed(
        {
            "integrations": [
                {
                    "_id": app_id,
                    "name": "Shopify app",
                    "_connectorId": "6650a00000000000000000c1",
                    "mode": "settings",
                    "settings": {"general": {"syncDays": 3, "keep": True}},
                }
            ]
        }
    )
    path = f"/integrations/{app_id}/settings/persistSettings"
    answer = api.put(path, json={"pending": {"general": {"syncDays": 7}}})
    assert answer.status_code == 200 and answer.json() == {"success": True}
    assert api.get(f"/integrations/{app_id}").json()["settings"] == {"general": {"syncDays": 7, "keep": True}}
    assert_error(api.put(path, json={"general": {}}), 422, "invalid_body")
    diy = f"/integrations/{TEMPLATE}/settings/persistSettings"
    assert_error(api.put(diy, json={"pending": {"a": 1}}), 422, "not_integration_app")


# -- tokens -------------------------------------------------------------------------------------------------------


def test_access_token_display_and_generate(api: Api) -> None:
    token_id = DEMO_IDS["accesstoken_airflow"]
    assert api.get(f"/accesstokens/{token_id}").json()["token"] == "******"
    shown = api.get(f"/accesstokens/{token_id}/display").json()
    assert shown == {"_id": token_id, "token": "0123456789abcdef0123456789abcdef"}
    fresh = api.post(f"/accesstokens/{token_id}/generate").json()["token"]
    assert fresh != shown["token"] and api.get(f"/accesstokens/{token_id}/display").json()["token"] == fresh
    assert_error(api.get(f"/accesstokens/{'f' * 24}/display"), 404)


def test_agent_display_and_change_token(api: Api) -> None:
    agent = DEMO_IDS["agent_onprem"]
    first = api.get(f"/agents/{agent}/display-token").json()["token"]
    assert api.get(f"/agents/{agent}/display-token").json()["token"] == first
    changed = api.put(f"/agents/{agent}/change-token").json()["token"]
    assert changed != first
    assert_error(api.put(f"/agents/{'f' * 24}/change-token"), 404)
