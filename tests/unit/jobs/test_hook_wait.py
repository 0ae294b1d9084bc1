"""``CeligoHook.wait_for_job`` (requests-mock) and ``CeligoAsyncHook.wait_for_job`` (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, DeadlineReached
from airflow_provider_celigo.hooks._transport.clients import auth_headers
from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

API = "https://api.integrator.io/v1"
JOB = "6650aa000000000000000001"
TOKEN = "hook-wait-token-3c8e1f"


def job(status: str, **fields: Any) -> dict[str, Any]:
    return {"_id": JOB, "type": "flow", "status": status, "numSuccess": 0, **fields}


@pytest.fixture
def hook(celigo_conn: Callable[..., str]) -> Iterator[CeligoHook]:
    celigo_conn("celigo_default", password=TOKEN, max_retries=0)
    hook = CeligoHook()
    yield hook
    hook.close()


# -- CeligoHook ----------------------------------------------------------------------------------------------


def test_sync_hook_waits_until_the_job_ends_and_logs_each_poll(
    hook: CeligoHook, requests_mock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    reads = requests_mock.get(
        f"{API}/jobs/{JOB}",
        [{"json": job("queued")}, {"json": job("running", numSuccess=5)}, {"json": job("completed", numSuccess=8)}],
    )
    final = hook.wait_for_job(JOB, poll_interval=0.01)
    assert final == job("completed", numSuccess=8) and reads.call_count == 3
    out = capsys.readouterr().out
    assert out.count(f"Celigo job {JOB}:") == 3
    assert f"Celigo job {JOB}: running, 5 ok / 0 errors / 0 ignored, 0 pages" in out
    assert TOKEN not in out


def test_sync_hook_returns_a_failed_job_without_judging_it(hook: CeligoHook, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("failed", numError=3))
    assert hook.wait_for_job(JOB, poll_interval=0.01)["status"] == "failed"


def test_sync_hook_timeout_raises_deadline_reached_and_leaves_the_job_alone(
    hook: CeligoHook, requests_mock: Any
) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", json=job("running", numSuccess=2))
    cancel = requests_mock.put(f"{API}/jobs/{JOB}/cancel", json=job("canceling"))
    with pytest.raises(DeadlineReached) as caught:
        hook.wait_for_job(JOB, poll_interval=0.01, timeout=0.05)
    assert caught.value.job == job("running", numSuccess=2) and cancel.call_count == 0


def test_sync_hook_api_error_is_raised(hook: CeligoHook, requests_mock: Any) -> None:
    requests_mock.get(f"{API}/jobs/{JOB}", status_code=404, json={"message": "not found"})
    with pytest.raises(CeligoApiError, match="HTTP 404"):
        hook.wait_for_job(JOB, poll_interval=0.01)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"poll_interval": math.inf}, "poll_interval"),
        ({"poll_interval": math.nan}, "poll_interval"),
        ({"poll_interval": 0}, "poll_interval"),
        ({"timeout": math.inf}, "timeout"),
        ({"timeout": math.nan}, "timeout"),
        ({"timeout": -1}, "timeout"),
    ],
)
def test_sync_hook_refuses_bad_limits_before_any_call(
    hook: CeligoHook, requests_mock: Any, kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(CeligoConfigError, match=rf"^{named} is "):
        hook.wait_for_job(JOB, **kwargs)
    assert requests_mock.call_count == 0


# -- CeligoAsyncHook -------------------------------------------------------------------------------------------


class Answers:
    """A MockTransport handler: job documents from a script (the last repeats); records request paths."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(f"{request.method} {request.url.path}")
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def transport(monkeypatch: pytest.MonkeyPatch, celigo_conn: Callable[..., str]) -> Callable[[Answers], None]:
    """Route CeligoAsyncHook through a MockTransport on a connection that does not retry."""
    celigo_conn("celigo_default", password=TOKEN, max_retries=0)

    def install(handler: Answers) -> None:
        async def get_client(self: CeligoAsyncHook) -> httpx.AsyncClient:
            if self._client is None:
                settings = await self.get_settings()
                self._client = httpx.AsyncClient(transport=httpx.MockTransport(handler), headers=auth_headers(settings))
            return self._client

        monkeypatch.setattr(CeligoAsyncHook, "_get_client", get_client)

    return install


def wait_async(**kwargs: Any) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        hook = CeligoAsyncHook()
        try:
            return await asyncio.wait_for(hook.wait_for_job(JOB, **kwargs), timeout=20)
        finally:
            await hook.aclose()

    return asyncio.run(main())


def test_async_hook_waits_until_the_job_ends_and_logs_each_poll(
    transport: Callable[[Answers], None], capsys: pytest.CaptureFixture[str]
) -> None:
    answers = Answers(
        httpx.Response(200, json=job("queued")),
        httpx.Response(200, json=job("running", numPagesGenerated=1)),
        httpx.Response(200, json=job("canceled")),
    )
    transport(answers)
    assert wait_async(poll_interval=0.01)["status"] == "canceled"
    assert answers.paths == [f"GET /v1/jobs/{JOB}"] * 3
    out = capsys.readouterr().out
    assert out.count(f"Celigo job {JOB}:") == 3 and "running, 0 ok / 0 errors / 0 ignored, 1 pages" in out


def test_async_hook_timeout_raises_deadline_reached(transport: Callable[[Answers], None]) -> None:
    answers = Answers(httpx.Response(200, json=job("running", numSuccess=1)))
    transport(answers)
    with pytest.raises(DeadlineReached) as caught:
        wait_async(poll_interval=0.01, timeout=0.05)
    assert caught.value.job["numSuccess"] == 1 and len(answers.paths) >= 2
    assert all(path.startswith("GET ") for path in answers.paths)  # never canceled


def test_async_hook_api_error_is_raised(transport: Callable[[Answers], None]) -> None:
    transport(Answers(httpx.Response(200, json=job("running")), httpx.Response(401, json={"message": "no"})))
    with pytest.raises(CeligoApiError, match="HTTP 401"):
        wait_async(poll_interval=0.01)


@pytest.mark.parametrize(
    ("kwargs", "named"), [({"poll_interval": math.inf}, "poll_interval"), ({"timeout": math.nan}, "timeout")]
)
def test_async_hook_refuses_bad_limits_before_any_call(
    transport: Callable[[Answers], None], kwargs: dict[str, Any], named: str
) -> None:
    answers = Answers(httpx.Response(200, json=job("completed")))
    transport(answers)
    with pytest.raises(CeligoConfigError, match=rf"^{named} is "):
        wait_async(**kwargs)
    assert answers.paths == []
