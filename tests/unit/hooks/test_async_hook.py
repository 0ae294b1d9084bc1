"""``CeligoAsyncHook`` against an ``httpx.MockTransport``: retries, error mapping, no token in errors."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import pytest

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError
from airflow_provider_celigo.hooks._transport.clients import auth_headers
from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook

Define = Callable[..., str]
TEST_TOKEN = "unit-async-token-2e6a1c"


@pytest.fixture
def celigo_conn(celigo_conn: Define) -> Define:
    """The shared fixture, with this module's own token (so the leak checks below know what to look for)."""
    return functools.partial(celigo_conn, password=TEST_TOKEN)


Handler = Callable[[httpx.Request], httpx.Response]
JOB = "5f1a2b3c4d5e6f7a8b9c0d1e"


class Recorder:
    """A MockTransport handler that answers from a script and records each request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def transport(monkeypatch: pytest.MonkeyPatch, celigo_conn: Define) -> Callable[[Handler], None]:
    """Route the async hook through a MockTransport; the connection retries without sleeping."""
    celigo_conn("celigo_default", max_retry_wait=0, max_retries=3)

    def install(handler: Handler) -> None:
        async def get_client(self: CeligoAsyncHook) -> httpx.AsyncClient:
            if self._client is None:
                settings = await self.get_settings()
                self._client = httpx.AsyncClient(
                    transport=httpx.MockTransport(handler), headers=auth_headers(settings), timeout=settings.timeout
                )
            return self._client

        monkeypatch.setattr(CeligoAsyncHook, "_get_client", get_client)

    return install


def run(call: Callable[[CeligoAsyncHook], Coroutine[Any, Any, Any]], conn_id: str = "celigo_default") -> Any:
    async def main() -> Any:
        hook = CeligoAsyncHook(conn_id)
        try:
            return await asyncio.wait_for(call(hook), timeout=20)
        finally:
            await hook.aclose()

    return asyncio.run(main())


def api_error(call: Callable[[CeligoAsyncHook], Coroutine[Any, Any, Any]]) -> CeligoApiError:
    with pytest.raises(CeligoApiError) as caught:
        run(call)
    assert TEST_TOKEN not in str(caught.value) and TEST_TOKEN not in repr(caught.value)
    return caught.value


def test_503_twice_then_200(transport: Callable[[Handler], None]) -> None:
    busy = httpx.Response(503, json={"message": "busy"})
    handler = Recorder(httpx.Response(503, text="busy"), busy, httpx.Response(200, json={"_id": JOB}))
    transport(handler)
    assert run(lambda h: h.get_job(JOB)) == {"_id": JOB}
    assert len(handler.requests) == 3
    assert all(r.headers["Authorization"] == f"Bearer {TEST_TOKEN}" for r in handler.requests)
    assert str(handler.requests[0].url) == f"https://api.integrator.io/v1/jobs/{JOB}"


def test_429_is_retried(transport: Callable[[Handler], None]) -> None:
    handler = Recorder(httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(200, json=[]))
    transport(handler)
    assert run(lambda h: h.list_jobs(_flowId=JOB)) == []
    assert len(handler.requests) == 2 and handler.requests[1].url.params["_flowId"] == JOB


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("dropped")]
)
def test_transport_failures_are_retried(transport: Callable[[Handler], None], failure: Exception) -> None:
    handler = Recorder(failure, httpx.Response(200, json={"status": "running"}))
    transport(handler)
    assert run(lambda h: h.get_job(JOB)) == {"status": "running"}
    assert len(handler.requests) == 2


def test_timeouts_until_retries_run_out(transport: Callable[[Handler], None]) -> None:
    handler = Recorder(httpx.ReadTimeout(f"Bearer {TEST_TOKEN}"))
    transport(handler)
    error = api_error(lambda h: h.get_job(JOB))
    assert (error.status, error.code, error.method, error.path) == (0, "timeout", "GET", f"/v1/jobs/{JOB}")
    assert len(handler.requests) == 4


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (401, {"message": f"token {TEST_TOKEN} is unknown"}, "token *** is unknown"),
        (404, {"errors": [{"code": "not_found", "message": "Job not found"}]}, "Job not found"),
        (422, {"errors": [{"code": "invalid", "message": "Job is finished", "field": "status"}]}, "Job is finished"),
    ],
)
def test_client_errors_fail_at_once(
    transport: Callable[[Handler], None], status: int, body: dict[str, Any], message: str
) -> None:
    handler = Recorder(httpx.Response(status, json=body))
    transport(handler)
    error = api_error(lambda h: h.cancel_job(JOB))
    assert len(handler.requests) == 1
    assert (error.status, error.method, error.path, error.message) == (status, "PUT", f"/v1/jobs/{JOB}/cancel", message)
    assert message in str(error)
    if status != 401:
        assert error.code == body["errors"][0]["code"]


def test_html_502_after_retries(transport: Callable[[Handler], None]) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"
    handler = Recorder(httpx.Response(502, text=page, headers={"Content-Type": "text/html"}))
    transport(handler)
    error = api_error(lambda h: h.get_job(JOB))
    assert error.status == 502 and "HTML" in error.message and "502 Bad Gateway" in error.message
    assert len(handler.requests) == 4


def test_200_that_is_not_json(transport: Callable[[Handler], None]) -> None:
    handler = Recorder(httpx.Response(200, text='{"status": "comp', headers={"Content-Type": "application/json"}))
    transport(handler)
    error = api_error(lambda h: h.get_job(JOB))
    assert (error.status, error.code, len(handler.requests)) == (200, "invalid_json", 1)


def test_bad_job_id_is_refused_before_any_request(transport: Callable[[Handler], None]) -> None:
    handler = Recorder(httpx.Response(200, json={}))
    transport(handler)
    with pytest.raises(CeligoConfigError, match="24 hexadecimal"):
        run(lambda h: h.get_job("../flows"))
    assert handler.requests == []


def test_bad_connection_is_reported_without_the_token(celigo_conn: Define) -> None:
    celigo_conn("c_bad", region="mars")
    with pytest.raises(CeligoConfigError) as caught:
        run(lambda h: h.get_job(JOB), "c_bad")
    assert "'mars'" in str(caught.value) and TEST_TOKEN not in repr(caught.value)


def test_real_client_is_built_from_the_connection(celigo_conn: Define) -> None:
    celigo_conn("c_real", base_url="http://127.0.0.1:9/v1", concurrency_level=2, timeout=7)

    async def inspect(hook: CeligoAsyncHook) -> dict[str, Any]:
        client = await hook._get_client()
        return {"auth": client.headers["Authorization"], "timeout": client.timeout.read}

    assert run(inspect, "c_real") == {"auth": f"Bearer {TEST_TOKEN}", "timeout": 7.0}
    assert TEST_TOKEN not in json.dumps(repr(CeligoAsyncHook("c_real")))
