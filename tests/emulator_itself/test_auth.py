"""Authentication, token info, accounts and unknown routes."""

from __future__ import annotations

import re

from conftest import Api, assert_error

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.seeds import DEFAULT_TOKEN, DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer


def test_missing_and_unknown_token_get_401(server: EmulatorServer, api: Api) -> None:
    assert_error(Api(server.base_url, token=None).get("/flows"), 401, "unauthorized")
    assert_error(Api(server.base_url, token="wrong").get("/flows"), 401, "unauthorized")
    basic = api.get("/flows", headers={"Authorization": "Basic abc"})
    assert_error(basic, 401, "unauthorized")


def test_flat_401_switch(server: EmulatorServer, admin: EmulatorAdmin) -> None:
    admin.configure(flat_401=True)
    response = Api(server.base_url, token="wrong").get("/flows")
    assert response.status_code == 401 and set(response.json()) == {"message"}


def test_token_info(api: Api) -> None:
    body = api.get("/tokenInfo").json()
    assert re.fullmatch(r"[0-9a-f]{24}", body["_userId"])
    assert isinstance(body["scope"], list)


def test_accounts_are_isolated(server: EmulatorServer, admin: EmulatorAdmin, api: Api) -> None:
    admin.configure(tokens={DEFAULT_TOKEN: "default", "other-token": "other"})
    other = Api(server.base_url, "other-token")
    assert other.get("/flows").status_code == 204  # empty account
    assert other.get(f"/flows/{DEMO_IDS['flow_orders']}").status_code == 404
    created = other.post("/tags", json={"tag": "mine"}).json()
    assert api.get(f"/tags/{created['_id']}").status_code == 404
    assert other.get("/tokenInfo").json()["_userId"] != api.get("/tokenInfo").json()["_userId"]
    admin.seed("demo", account="other")
    assert other.get(f"/flows/{DEMO_IDS['flow_orders']}").status_code == 200


def test_unknown_route_and_type_get_404_envelope(api: Api) -> None:
    assert_error(api.get("/nothing-here"), 404, "not_found")
    assert_error(api.get("/flows/6650f0000000000000000001/unknown/deeper/path"), 404)
    assert_error(api.post("/jobs", json={}), 404)


def test_method_not_allowed_uses_envelope(api: Api) -> None:
    assert_error(api.delete("/jobs/6650f0000000000000000001/family"), 405, "method_not_allowed")
    assert_error(api.post("/tokenInfo", json={}), 404)  # falls through to the generic create route
