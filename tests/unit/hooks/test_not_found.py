"""A 404 is a ``CeligoNotFoundError`` whose message says what is missing; ``missing_ok`` calls catch that class."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests_mock as rm

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoNotFoundError
from airflow_provider_celigo.hooks._transport.clients import auth_headers
from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

API = "https://api.integrator.io/v1"
FLOW = "6650f0000000000000000001"
EXPORT = "6650e0000000000000000001"
CONN = "6650c0000000000000000001"
GONE: dict[str, Any] = {
    "status_code": 404,
    "json": {"errors": [{"code": "invalid_ref", "message": "Resource not found"}]},
}


@pytest.fixture
def hook(celigo_conn: Callable[..., str]) -> CeligoHook:
    celigo_conn("celigo_default", max_retries=0)
    return CeligoHook()


def not_found_of(call: Callable[[], Any]) -> CeligoNotFoundError:
    with pytest.raises(CeligoNotFoundError) as caught:
        call()
    return caught.value


def test_request_names_what_is_missing(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", **GONE)
    error = not_found_of(lambda: hook.request("GET", f"/flows/{FLOW}", not_found=f"flow {FLOW} does not exist"))
    assert isinstance(error, CeligoApiError)
    assert (error.status, error.code, error.method, error.path) == (404, "invalid_ref", "GET", f"/v1/flows/{FLOW}")
    assert error.message == f"flow {FLOW} does not exist (Resource not found)"
    assert "check the id" in str(error)  # the 404 hint stays
    assert requests_mock.call_count == 1  # a 404 is final


def test_request_without_not_found_keeps_the_servers_message(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", **GONE)
    error = not_found_of(lambda: hook.request("GET", f"/flows/{FLOW}"))
    assert error.message == "Resource not found"


def test_not_found_is_not_used_for_other_errors(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", status_code=403, json={"message": "forbidden"})
    with pytest.raises(CeligoApiError) as caught:
        hook.request("GET", f"/flows/{FLOW}", not_found="flow does not exist")
    assert not isinstance(caught.value, CeligoNotFoundError)
    assert caught.value.message == "forbidden"


@pytest.mark.parametrize(
    ("method", "url", "call", "message"),
    [
        ("GET", f"/flows/{FLOW}", lambda h: h.get_resource("flows", FLOW), f"flow {FLOW} does not exist"),
        (
            "PUT",
            f"/exports/{EXPORT}",
            lambda h: h.replace_resource("exports", EXPORT, {"name": "x"}),
            f"export {EXPORT} does not exist, so it cannot be replaced",
        ),
        (
            "PATCH",
            f"/flows/{FLOW}",
            lambda h: h.patch_resource("flows", FLOW, [{"op": "replace", "path": "/name", "value": "x"}]),
            f"flow {FLOW} does not exist, so it cannot be updated",
        ),
        (
            "GET",
            f"/exports/{EXPORT}",
            lambda h: h.update_resource("exports", EXPORT, {"name": "x"}),
            f"export {EXPORT} does not exist, so it cannot be updated",
        ),
        (
            "DELETE",
            f"/exports/{EXPORT}",
            lambda h: h.delete_resource("exports", EXPORT),
            f"export {EXPORT} does not exist, so it cannot be deleted",
        ),
        ("GET", "/state/k1", lambda h: h.get_state("k1"), "state key 'k1' is not set"),
        ("DELETE", "/state/k1", lambda h: h.delete_state("k1"), "state key 'k1' is not set, so it cannot be deleted"),
        (
            "GET",
            f"/connections/{CONN}/ping",
            lambda h: h.ping_connection(CONN),
            f"connection {CONN} does not exist, so it cannot be pinged",
        ),
        (
            "POST",
            f"/recycleBinTTL/flows/{FLOW}/doCascadeRestore",
            lambda h: h.restore_resource("flows", FLOW),
            f"flow {FLOW} is not in the recycle bin",
        ),
    ],
)
def test_every_resource_method_says_what_is_missing(
    hook: CeligoHook,
    requests_mock: rm.Mocker,
    method: str,
    url: str,
    call: Callable[[CeligoHook], Any],
    message: str,
) -> None:
    requests_mock.register_uri(method, f"{API}{url}", **GONE)
    error = not_found_of(lambda: call(hook))
    assert error.status == 404 and error.message == f"{message} (Resource not found)"
    assert (error.method, error.path) == (method, f"/v1{url}")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is CeligoNotFoundError and copy.message == error.message


def test_missing_ok_catches_only_the_404(hook: CeligoHook, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/state/k1", **GONE)
    requests_mock.delete(f"{API}/state/k1", **GONE)
    requests_mock.delete(f"{API}/exports/{EXPORT}", **GONE)
    assert hook.get_state("k1", missing_ok=True) is None
    assert hook.delete_state("k1", missing_ok=True) is False
    assert hook.delete_resource("exports", EXPORT, missing_ok=True) is False
    requests_mock.get(f"{API}/state/k1", status_code=422, json={"message": "bad key"})
    with pytest.raises(CeligoApiError, match="bad key"):
        hook.get_state("k1", missing_ok=True)


def test_the_async_hook_names_what_is_missing(celigo_conn: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> None:
    celigo_conn("celigo_default", max_retries=0)
    answer = httpx.Response(404, json={"errors": [{"code": "not_found", "message": "Job not found"}]})

    async def get_client(self: CeligoAsyncHook) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=httpx.MockTransport(lambda request: answer), headers=auth_headers(await self.get_settings())
            )
        return self._client

    monkeypatch.setattr(CeligoAsyncHook, "_get_client", get_client)

    async def call(not_found: str | None) -> Any:
        hook = CeligoAsyncHook()
        try:
            return await hook.request("GET", f"/jobs/{FLOW}", not_found=not_found)
        finally:
            await hook.aclose()

    with pytest.raises(CeligoNotFoundError) as named:
        asyncio.run(call(f"job {FLOW} does not exist"))
    assert named.value.message == f"job {FLOW} does not exist (Job not found)"
    with pytest.raises(CeligoNotFoundError) as plain:
        asyncio.run(call(None))
    assert plain.value.message == "Job not found" and plain.value.status == 404
