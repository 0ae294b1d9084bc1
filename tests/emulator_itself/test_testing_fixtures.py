"""The pytest fixtures and context manager offered to users in ``airflow_provider_celigo.testing``."""

from __future__ import annotations

import json
import os

import requests

from airflow_provider_celigo.testing import running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEFAULT_TOKEN, DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer


def test_celigo_emulator_fixture(celigo_emulator: EmulatorServer) -> None:
    assert celigo_emulator.base_url.startswith("http://127.0.0.1:") and celigo_emulator.base_url.endswith("/v1")
    assert celigo_emulator.token == DEFAULT_TOKEN
    headers = {"Authorization": f"Bearer {celigo_emulator.token}"}
    flows = requests.get(f"{celigo_emulator.base_url}/flows", headers=headers, timeout=5)
    assert len(flows.json()) == 3 and "next" in flows.links  # page size 3
    config = celigo_emulator.admin.configure()
    assert config["clock_speed"] == 20.0 and config["page_size"] == 3


def test_celigo_connection_fixture(celigo_connection: str, celigo_emulator: EmulatorServer) -> None:
    assert celigo_connection == "celigo_default"
    conn = json.loads(os.environ["AIRFLOW_CONN_CELIGO_DEFAULT"])
    assert conn == {
        "conn_type": "celigo",
        "password": celigo_emulator.token,
        "extra": {"base_url": celigo_emulator.base_url, "concurrency_level": 5},
    }


def test_running_emulator_context_manager() -> None:
    with running_emulator(clock_speed=100) as server:
        url = f"{server.base_url}/flows/{DEMO_IDS['flow_orders']}"
        assert requests.get(url, headers={"Authorization": f"Bearer {server.token}"}, timeout=5).ok
        port = server.port
    try:
        requests.get(f"http://127.0.0.1:{port}/v1/flows", timeout=1)
        raise AssertionError("the server still answers after stop()")
    except requests.ConnectionError:
        pass


def test_server_fixed_port_and_restart_safety() -> None:
    server = EmulatorServer(seed=None)
    server.stop()  # stopping a server that never started is harmless
    with server:
        assert server.port > 0
        headers = {"Authorization": f"Bearer {server.token}"}
        assert requests.get(f"{server.base_url}/flows", headers=headers, timeout=5).status_code == 204
