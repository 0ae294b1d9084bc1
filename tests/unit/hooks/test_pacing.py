"""The per-connection pacer: a 429 holds back every caller of the account until its Retry-After moment."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import requests_mock

from airflow_provider_celigo.hooks._transport import pacing
from airflow_provider_celigo.hooks._transport.pacing import Pacer, pacer_for
from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

BASE = "https://api.integrator.io/v1"


@pytest.fixture(autouse=True)
def fresh_pacers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AIRFLOW__CELIGO__PACE_AFTER_429", raising=False)
    pacing.reset()
    yield
    pacing.reset()


class FakeClock:
    """Replaces ``time.monotonic`` and ``time.sleep`` in the pacing module; sleeping advances the clock.

    Only the module's own name ``time`` is replaced: patching the attributes of the shared ``time`` module
    would freeze the clock of every thread of the test process, an emulator's server thread among them.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        monkeypatch.setattr(pacing, "time", SimpleNamespace(monotonic=lambda: self.now, sleep=self.sleep))

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_fresh_pacer_never_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    Pacer().wait()
    assert clock.sleeps == []


def test_pause_holds_callers_until_the_retry_after_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    pacer = Pacer()
    pacer.pause(2.0)
    clock.now += 0.5
    assert pacer.delay() == pytest.approx(1.5)
    pacer.wait()
    assert clock.sleeps == [pytest.approx(1.5)] and pacer.delay() == 0.0


def test_a_pause_under_way_is_not_extended(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    pacer = Pacer()
    pacer.pause(1.0)
    clock.now += 0.2
    pacer.pause(1.0)  # a call sent before the pause met the same empty bucket
    assert pacer.delay() == pytest.approx(0.8)
    clock.now += 0.8
    pacer.pause(2.0)
    assert pacer.delay() == pytest.approx(2.0)


def test_the_cap_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeClock(monkeypatch)
    pacer = Pacer()
    pacer.pause(500.0, cap=10.0)
    assert pacer.delay() == pytest.approx(10.0)


def test_missing_retry_after_pauses_one_second(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeClock(monkeypatch)
    pacer = Pacer()
    pacer.pause(None)
    assert pacer.delay() == pytest.approx(pacing.DEFAULT_PAUSE)


# -- the [celigo] pace_after_429 option ---------------------------------------------------------------------


def test_pacing_is_on_by_default() -> None:
    assert pacing.pacing_enabled() is True


@pytest.mark.parametrize(("value", "expected"), [("False", False), ("false", False), ("0", False), ("True", True)])
def test_the_option_turns_pacing_off(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("AIRFLOW__CELIGO__PACE_AFTER_429", value)
    pacing.reset()
    assert pacing.pacing_enabled() is expected


def test_the_option_is_read_once_until_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pacing.pacing_enabled() is True
    monkeypatch.setenv("AIRFLOW__CELIGO__PACE_AFTER_429", "False")
    assert pacing.pacing_enabled() is True  # cached for the process
    pacing.reset()
    assert pacing.pacing_enabled() is False


def test_a_value_that_is_not_a_boolean_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__CELIGO__PACE_AFTER_429", "sometimes")
    pacing.reset()
    with pytest.raises(Exception, match="pace_after_429"):
        pacing.pacing_enabled()


def test_with_pacing_off_a_429_neither_pauses_nor_holds_back(celigo_conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    celigo_conn("celigo_default", max_retries=0)
    monkeypatch.setenv("AIRFLOW__CELIGO__PACE_AFTER_429", "False")
    pacing.reset()
    pacer_for("celigo_default").pause(30.0)  # even a pause from before is not waited out
    waits: list[float] = []
    monkeypatch.setattr(Pacer, "wait", lambda self: waits.append(self.delay()))
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/tokenInfo", status_code=429, headers={"Retry-After": "7"}, json={"message": "slow down"})
        with pytest.raises(Exception, match="429"):
            CeligoHook().get_token_info()
    assert waits == []
    assert 29.0 < pacer_for("celigo_default").delay() <= 30.0  # the 429 did not start a new pause either


def test_with_pacing_off_the_async_hook_does_not_wait(celigo_conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    celigo_conn("celigo_default", max_retries=0)
    monkeypatch.setenv("AIRFLOW__CELIGO__PACE_AFTER_429", "False")
    pacing.reset()
    pacer_for("celigo_default").pause(30.0)
    real_client = httpx.AsyncClient

    def client(**kwargs: Any) -> httpx.AsyncClient:
        answer = httpx.Response(200, json={"_id": "6650aa0000000000000000a1"})
        return real_client(transport=httpx.MockTransport(lambda request: answer), **kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", client)

    async def call() -> Any:
        hook = CeligoAsyncHook()
        try:
            return await asyncio.wait_for(hook.get_job("6650aa0000000000000000a1"), timeout=5)
        finally:
            await hook.aclose()

    assert asyncio.run(call()) == {"_id": "6650aa0000000000000000a1"}  # not held back for 30 s


def test_one_pacer_per_connection_owner() -> None:
    assert pacer_for("a") is pacer_for("a") and pacer_for("a") is not pacer_for("b")


def test_async_wait_sleeps_without_blocking(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(monkeypatch)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(pacing, "asyncio", SimpleNamespace(sleep=fake_sleep))  # this module's asyncio only
    pacer = Pacer()
    pacer.pause(2.0)
    asyncio.run(pacer.wait_async())
    assert slept == [pytest.approx(2.0)] and clock.sleeps == []


# -- wired into the hooks ----------------------------------------------------------------------------------


def test_a_429_seen_by_one_thread_pauses_the_others(celigo_conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    celigo_conn("celigo_default", max_retries=0)
    waited: list[float] = []
    monkeypatch.setattr(Pacer, "wait", lambda self: waited.append(self.delay()))
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/tokenInfo", status_code=429, headers={"Retry-After": "7"}, json={"message": "slow down"})
        with pytest.raises(Exception, match="429"):
            CeligoHook().get_token_info()
        mock.get(f"{BASE}/tokenInfo", json={"_userId": "u1"})
        other: list[Any] = []
        thread = threading.Thread(target=lambda: other.append(CeligoHook().get_token_info()))
        thread.start()
        thread.join()
    assert other == [{"_userId": "u1"}]
    assert waited[0] == 0.0 and 6.0 < waited[1] <= 7.0  # the second caller was told to wait out the 7 s


def test_the_pause_is_capped_by_the_connections_max_retry_wait(celigo_conn: Any) -> None:
    celigo_conn("celigo_default", max_retries=0, max_retry_wait=0)
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/tokenInfo", status_code=429, headers={"Retry-After": "30"}, json={"message": "slow down"})
        with pytest.raises(Exception, match="429"):
            CeligoHook().get_token_info()
    assert pacer_for("celigo_default").delay() == 0.0


def test_the_async_hook_pauses_too(celigo_conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    celigo_conn("celigo_default", max_retries=0)
    real_client = httpx.AsyncClient

    def client(**kwargs: Any) -> httpx.AsyncClient:
        answer = httpx.Response(429, headers={"Retry-After": "9"}, json={"message": "slow down"})
        return real_client(transport=httpx.MockTransport(lambda request: answer), **kwargs)

    monkeypatch.setattr(httpx, "AsyncClient", client)

    async def call() -> None:
        hook = CeligoAsyncHook()
        try:
            await hook.get_job("6650aa0000000000000000a1")
        finally:
            await hook.aclose()

    with pytest.raises(Exception, match="429"):
        asyncio.run(call())
    assert 8.0 < pacer_for("celigo_default").delay() <= 9.0
