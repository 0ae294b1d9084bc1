"""``/_emulator/``: the index of the admin routes that ``celigo-emulator`` prints at start-up."""

from __future__ import annotations

import requests
from starlette.routing import Route

from airflow_provider_celigo.testing.emulator.app import create_app
from airflow_provider_celigo.testing.emulator.config import EmulatorConfig
from airflow_provider_celigo.testing.emulator.server import EmulatorServer


def test_index_lists_every_admin_route_with_a_description(server: EmulatorServer) -> None:
    response = requests.get(f"{server.root_url}/_emulator/", timeout=5)  # no token needed
    assert response.status_code == 200, response.text
    listed = {(route["method"], route["path"]): route["description"] for route in response.json()["routes"]}
    app = create_app(EmulatorConfig())
    expected = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route) and route.path.startswith("/_emulator")
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert set(listed) == expected
    assert {("POST", "/_emulator/reset"), ("PUT", "/_emulator/faults"), ("GET", "/_emulator/docs")} <= set(listed)
    job_model = {
        ("GET", "/_emulator/flow-runs"),
        ("POST", "/_emulator/flows/{flow_id}/run"),
        ("POST", "/_emulator/clock/advance"),
    }
    assert job_model <= set(listed)
    for (method, path), description in listed.items():
        assert description and "\n" not in description and "``" not in description, (method, path)
    assert listed[("GET", "/_emulator/health")] == 'Return {"ok": true}.'
    assert not [path for _, path in listed if path.startswith("/v1")]


def test_index_without_the_trailing_slash_redirects_to_it(server: EmulatorServer) -> None:
    response = requests.get(f"{server.root_url}/_emulator", allow_redirects=False, timeout=5)
    assert response.status_code in (307, 308) and response.headers["location"].endswith("/_emulator/")
