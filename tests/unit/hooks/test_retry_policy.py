"""The retry policy factory: one tenacity policy for both hooks; ``Retry-After`` honoured on 429 and 5xx,
a negative or unreadable one falls back to the exponential backoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import requests_mock as rm
import tenacity

from airflow_provider_celigo.connection import CeligoSettings
from airflow_provider_celigo.exceptions import RetryableResponse, TransportError
from airflow_provider_celigo.hooks._transport import pacing
from airflow_provider_celigo.hooks._transport.clients import auth_headers
from airflow_provider_celigo.hooks._transport.retry import BACKOFF_INITIAL, retrying
from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

API = "https://api.integrator.io/v1"
JOB = "6650aa0000000000000000a1"
NESTED = "[" * 100_000 + "]" * 100_000


@pytest.fixture(autouse=True)
def fresh_pacers() -> Any:
    pacing.reset()
    yield
    pacing.reset()


def settings(**overrides: Any) -> CeligoSettings:
    return CeligoSettings(conn_id="c", token="t" * 20, **overrides)


def next_wait(policy: tenacity.BaseRetrying, error: BaseException, attempt: int) -> float:
    """Return the wait the policy chooses after ``attempt`` failed with ``error``."""
    state = tenacity.RetryCallState(policy, fn=None, args=(), kwargs={})
    state.attempt_number = attempt
    state.set_exception((type(error), error, None))
    assert policy.wait is not None
    return policy.wait(state)


def busy(status: int = 503, retry_after: float | None = None) -> RetryableResponse:
    return RetryableResponse(status=status, method="GET", path="/v1/x", retry_after=retry_after)


# -- the factory ---------------------------------------------------------------------------------------------


def test_the_factory_builds_sync_and_async_policies() -> None:
    def log(state: tenacity.RetryCallState) -> None:
        pass

    sync = retrying(settings(max_retries=2), before_sleep=log)
    asynchronous = retrying(settings(max_retries=2), before_sleep=log, async_=True)
    assert isinstance(sync, tenacity.Retrying) and isinstance(asynchronous, tenacity.AsyncRetrying)
    assert sync.before_sleep is log and asynchronous.before_sleep is log
    assert sync.reraise and asynchronous.reraise


def test_the_factory_stops_after_max_retries() -> None:
    calls: list[int] = []

    def always_busy() -> None:
        calls.append(1)
        raise busy()

    with pytest.raises(RetryableResponse):
        retrying(settings(max_retries=2, max_retry_wait=0), before_sleep=lambda state: None)(always_busy)
    assert len(calls) == 3


def test_the_factory_does_not_retry_a_final_error() -> None:
    calls: list[int] = []

    def refused() -> None:
        calls.append(1)
        raise ValueError("not worth another attempt")

    with pytest.raises(ValueError):
        retrying(settings(max_retries=5, max_retry_wait=0), before_sleep=lambda state: None)(refused)
    assert calls == [1]


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retry_after_is_honoured_on_429_and_5xx(status: int) -> None:
    policy = retrying(settings(max_retry_wait=60), before_sleep=lambda state: None)
    assert next_wait(policy, busy(status, retry_after=7.0), 1) == 7.0
    assert next_wait(policy, busy(status, retry_after=0.0), 1) == 0.0


def test_retry_after_is_capped_by_max_retry_wait() -> None:
    policy = retrying(settings(max_retry_wait=5), before_sleep=lambda state: None)
    assert next_wait(policy, busy(retry_after=120.0), 1) == 5.0


@pytest.mark.parametrize("hint", [None, -3.0, float("nan"), float("-inf")])
def test_no_usable_hint_means_exponential_backoff(hint: float | None) -> None:
    policy = retrying(settings(max_retry_wait=60), before_sleep=lambda state: None)
    waits = [next_wait(policy, busy(retry_after=hint), attempt) for attempt in (1, 2, 3)]
    for attempt, wait in enumerate(waits, start=1):
        base = BACKOFF_INITIAL * 2 ** (attempt - 1)
        assert base <= wait <= base + BACKOFF_INITIAL


def test_transport_errors_back_off_too() -> None:
    policy = retrying(settings(max_retry_wait=60), before_sleep=lambda state: None)
    error = TransportError(status=0, method="GET", path="/v1/x", code="timeout")
    assert BACKOFF_INITIAL <= next_wait(policy, error, 1) <= 2 * BACKOFF_INITIAL


# -- through the hooks ---------------------------------------------------------------------------------------


def test_sync_hook_waits_for_retry_after_on_a_503(celigo_conn: Callable[..., str], requests_mock: rm.Mocker) -> None:
    celigo_conn("celigo_default")  # default max_retry_wait lets Retry-After: 1 through
    requests_mock.get(
        f"{API}/tokenInfo",
        [
            {"status_code": 503, "headers": {"Retry-After": "1"}, "json": {"message": "busy"}},
            {"json": {"_userId": "u"}},
        ],
    )
    started = time.monotonic()
    assert CeligoHook().get_token_info() == {"_userId": "u"}
    assert 0.9 <= time.monotonic() - started < 5
    assert requests_mock.call_count == 2


@pytest.mark.parametrize("retry_after", ["-3", "soon", "nan"])
def test_sync_hook_backs_off_when_retry_after_is_unusable(
    celigo_conn: Callable[..., str], requests_mock: rm.Mocker, retry_after: str
) -> None:
    celigo_conn("celigo_default", max_retries=1)
    requests_mock.get(
        f"{API}/tokenInfo",
        [
            {"status_code": 429, "headers": {"Retry-After": retry_after}, "json": {"message": "slow down"}},
            {"json": {"_userId": "u"}},
        ],
    )
    started = time.monotonic()
    assert CeligoHook().get_token_info() == {"_userId": "u"}
    assert time.monotonic() - started >= BACKOFF_INITIAL * 0.9  # not an instant retry


def test_sync_hook_retries_a_500_whose_body_is_nested_too_deeply(
    celigo_conn: Callable[..., str], requests_mock: rm.Mocker
) -> None:
    celigo_conn("celigo_default", max_retries=2, max_retry_wait=0)
    nested = {"status_code": 500, "text": NESTED, "headers": {"Content-Type": "application/json"}}
    requests_mock.get(f"{API}/tokenInfo", [nested, nested, {"json": {"_userId": "u"}}])
    assert CeligoHook().get_token_info() == {"_userId": "u"}
    assert requests_mock.call_count == 3


def _async_hook_with(monkeypatch: pytest.MonkeyPatch, answers: list[httpx.Response]) -> list[httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0) if len(answers) > 1 else answers[0]

    async def get_client(self: CeligoAsyncHook) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=httpx.MockTransport(handler), headers=auth_headers(await self.get_settings())
            )
        return self._client

    monkeypatch.setattr(CeligoAsyncHook, "_get_client", get_client)
    return seen


def _run(call: Callable[[CeligoAsyncHook], Any]) -> Any:
    async def main() -> Any:
        hook = CeligoAsyncHook()
        try:
            return await asyncio.wait_for(call(hook), timeout=20)
        finally:
            await hook.aclose()

    return asyncio.run(main())


def test_async_hook_waits_for_retry_after_on_a_502(
    celigo_conn: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    celigo_conn("celigo_default")
    seen = _async_hook_with(
        monkeypatch,
        [httpx.Response(502, headers={"Retry-After": "1"}, text="bad gateway"), httpx.Response(200, json={"_id": JOB})],
    )
    started = time.monotonic()
    assert _run(lambda hook: hook.get_job(JOB)) == {"_id": JOB}
    assert 0.9 <= time.monotonic() - started < 5 and len(seen) == 2


def test_async_hook_backs_off_when_retry_after_is_negative(
    celigo_conn: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    celigo_conn("celigo_default", max_retries=1)
    seen = _async_hook_with(
        monkeypatch,
        [httpx.Response(503, headers={"Retry-After": "-3"}, text="busy"), httpx.Response(200, json={"_id": JOB})],
    )
    started = time.monotonic()
    assert _run(lambda hook: hook.get_job(JOB)) == {"_id": JOB}
    assert time.monotonic() - started >= BACKOFF_INITIAL * 0.9 and len(seen) == 2


def test_async_hook_retries_a_500_whose_body_is_nested_too_deeply(
    celigo_conn: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    celigo_conn("celigo_default", max_retries=1, max_retry_wait=0)
    nested = httpx.Response(500, text=NESTED, headers={"Content-Type": "application/json"})
    seen = _async_hook_with(monkeypatch, [nested])
    with pytest.raises(RetryableResponse, match="nested too deeply"):
        _run(lambda hook: hook.get_job(JOB))
    assert len(seen) == 2
