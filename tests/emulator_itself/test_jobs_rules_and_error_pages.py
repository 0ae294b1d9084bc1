"""Issue 13's smaller gaps on the emulator side: the /jobs child-type rule, and step errors paged with
``nextPageURL`` (``paging.body_cursor_response``), read by the hook over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Api, assert_error
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.testing.emulator.errors import ApiError
from airflow_provider_celigo.testing.emulator.paging import body_cursor_response
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import bind_socket, make_uvicorn_config

FLOW = DEMO_IDS["flow_orders"]
STEP = DEMO_IDS["export_orders"]


# -- /jobs: child-type queries need a flow job or a resource id ------------------------------------------------


def test_child_type_queries_need_a_flow_job_or_a_resource_id(api: Api) -> None:
    for query in ("type=export&createdAt_gte=2020-01-01", "type_in[0]=import&createdAt_gte=2020-01-01"):
        error = assert_error(api.get(f"/jobs?{query}"), 400, "invalid_query")
        assert "_flowJobId" in error["message"]
    assert api.get("/jobs?type=export&_flowJobId=6650f0000000000000000099").json() == []
    assert api.get(f"/jobs?type=import&_flowId={FLOW}").status_code == 200
    assert api.get("/jobs?type=flow&createdAt_gte=2020-01-01").status_code == 200  # parent types: a date will do


def test_the_child_rule_follows_the_scope_switch(api: Api, admin: Any) -> None:
    admin.configure(jobs_require_scope=False)
    assert api.get("/jobs?type=export&createdAt_gte=2020-01-01").status_code == 200


# -- step errors paged with nextPageURL --------------------------------------------------------------------------


class ErrorStore:
    """A step's open errors served by ``body_cursor_response`` at the emulator's path, for the hook to page."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []
        self.page_size = 1000
        self.empty_404 = False
        self.queries: list[str] = []

    async def errors_route(self, request: Request) -> Response:
        self.queries.append(request.url.query)
        try:
            return body_cursor_response(request, "errors", self.errors, self.page_size, empty_404=self.empty_404)
        except ApiError as error:
            return error.response()


@pytest.fixture
def store_server() -> Iterator[tuple[ErrorStore, str]]:
    import uvicorn

    store = ErrorStore()
    app = Starlette(routes=[Route("/v1/flows/{flow}/{step}/errors", store.errors_route)])
    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(make_uvicorn_config(app, "127.0.0.1", sock.getsockname()[1]))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield store, f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def paged_hook(store_server: tuple[ErrorStore, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[CeligoHook]:
    import json

    _, base_url = store_server
    extra = {"base_url": base_url, "max_retries": 0}
    monkeypatch.setenv(
        "AIRFLOW_CONN_CELIGO_DEFAULT", json.dumps({"conn_type": "celigo", "password": "t", "extra": extra})
    )
    hook = CeligoHook()
    yield hook
    hook.close()


def test_the_hook_pages_step_errors_over_http(store_server: tuple[ErrorStore, str], paged_hook: CeligoHook) -> None:
    store, _ = store_server
    store.errors = [{"errorId": f"e{i}", "retryDataKey": f"k{i}"} for i in range(23)]
    store.page_size = 5
    got = paged_hook.get_step_errors(FLOW, STEP, limit=10_000)
    assert [e["errorId"] for e in got] == [f"e{i}" for i in range(23)]
    assert len(store.queries) == 5 and store.queries[0] == "" and all("after=" in q for q in store.queries[1:])
    assert len(paged_hook.get_step_errors(FLOW, STEP, limit=7)) == 7  # stops once it has enough


def test_next_page_url_is_led_by_api(store_server: tuple[ErrorStore, str]) -> None:
    import requests

    store, base_url = store_server
    store.errors, store.page_size = [{"errorId": str(i)} for i in range(3)], 2
    first = requests.get(f"{base_url}/flows/{FLOW}/{STEP}/errors?source=x", timeout=10).json()
    assert first["nextPageURL"].startswith(f"/api/flows/{FLOW}/{STEP}/errors?") and "source=x" in first["nextPageURL"]
    last = requests.get(base_url.removesuffix("/v1") + "/v1" + first["nextPageURL"].removeprefix("/api"), timeout=10)
    assert last.json() == {"errors": [{"errorId": "2"}]}


def test_a_step_without_an_error_store_answers_404(store_server: tuple[ErrorStore, str]) -> None:
    import requests

    store, base_url = store_server
    store.empty_404 = True
    answer = requests.get(f"{base_url}/flows/{FLOW}/{STEP}/errors", timeout=10)
    assert answer.status_code == 404 and answer.json()["errors"][0]["code"] == "not_found"
    store.errors = [{"errorId": "1"}]
    assert requests.get(f"{base_url}/flows/{FLOW}/{STEP}/errors", timeout=10).json() == {"errors": [{"errorId": "1"}]}
