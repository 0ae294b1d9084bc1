"""Shared fixtures: one emulator per session, reset and re-seeded before every test."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_celigo.testing import celigo_connection, celigo_emulator  # noqa: F401
from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.config import EmulatorConfig
from airflow_provider_celigo.testing.emulator.seeds import DEFAULT_TOKEN
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

DEFAULTS: dict[str, Any] = {
    "clock_speed": 20.0,
    "page_size": 3,
    "bucket_size": 1000,
    "refill_per_second": 300.0,
    "empty_list_204": True,
    "run_status_code": 201,
    "keep_secret_on_mask_write": True,
    "jobs_cap": 1000,
    "jobs_require_scope": True,
    "cancel_delay_seconds": 0.5,
    "validate_refs": True,
    "flat_401": False,
    "tokens": {DEFAULT_TOKEN: "default"},
}


class Api:
    """A requests session bound to the emulator's /v1 base URL and token."""

    def __init__(self, base_url: str, token: str | None = DEFAULT_TOKEN) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.url(path), **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def run(self, flow_id: str, body: Any = None) -> str:
        response = (
            self.post(f"/flows/{flow_id}/run", json=body) if body is not None else self.post(f"/flows/{flow_id}/run")
        )
        assert response.status_code == 201, response.text
        job_id: str = response.json()["_jobId"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.get(f"/jobs/{job_id}")
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        return doc

    def wait_job(self, job_id: str, statuses: set[str], timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            doc = self.job(job_id)
            if doc["status"] in statuses:
                return doc
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} stayed {doc['status']}, wanted {statuses}")
            time.sleep(0.02)


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert an error envelope with ``status`` (and ``code``); return its first error."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body["errors"], list) and body["errors"], body
    first: dict[str, Any] = body["errors"][0]
    assert isinstance(first["message"], str) and first["message"]
    if code is not None:
        assert first["code"] == code, first
    return first


TEST_TIMEOUT_SECONDS = 30


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Bound every emulator test in time (pytest-timeout), unless it sets its own limit."""
    here = str(Path(__file__).parent)
    for item in items:
        if str(item.path).startswith(here) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(TEST_TIMEOUT_SECONDS))


@pytest.fixture(scope="session")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorConfig(seed="demo", **DEFAULTS)) as running:
        yield running


@pytest.fixture
def admin(server: EmulatorServer) -> EmulatorAdmin:
    server.admin.configure(**DEFAULTS)
    server.admin.reset()
    server.admin.seed("demo")
    return server.admin


@pytest.fixture
def api(server: EmulatorServer, admin: EmulatorAdmin) -> Api:
    return Api(server.base_url, server.token)
