"""The per-connection cap on calls in flight, measured by a real slow HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from loopback import SlowServer, serving

from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

Define = Callable[..., str]
CALLS = 50
DELAY = 0.05


@pytest.fixture(scope="module")
def server() -> Iterator[SlowServer]:
    with serving(SlowServer(DELAY, body=b'{"ok": true}')) as server:
        yield server


@pytest.fixture
def slow(server: SlowServer) -> SlowServer:
    server.reset()
    return server


def sync_calls(conn_ids: list[str]) -> None:
    """Make one call per conn id, all at once from threads, each through its own hook (like separate tasks)."""

    def call(conn_id: str) -> Any:
        hook = CeligoHook(conn_id)
        try:
            return hook.request("GET", "/ping")
        finally:
            hook.close()

    with ThreadPoolExecutor(max_workers=len(conn_ids)) as pool:
        results = [f.result(timeout=30) for f in [pool.submit(call, c) for c in conn_ids]]
    assert results == [{"ok": True}] * len(conn_ids)


def async_calls(conn_ids: list[str]) -> None:
    """Make one call per conn id as concurrent asyncio tasks, each through its own async hook."""

    async def call(conn_id: str) -> Any:
        hook = CeligoAsyncHook(conn_id)
        try:
            return await hook.request("GET", "/ping")
        finally:
            await hook.aclose()

    async def main() -> list[Any]:
        return await asyncio.wait_for(asyncio.gather(*(call(c) for c in conn_ids)), timeout=30)

    assert asyncio.run(main()) == [{"ok": True}] * len(conn_ids)


RUNNERS = {"threads": sync_calls, "asyncio": async_calls}


@pytest.mark.parametrize("runner", list(RUNNERS))
def test_fifty_calls_never_exceed_the_level(celigo_conn: Define, slow: SlowServer, runner: str) -> None:
    conn_id = celigo_conn(f"cap3_{runner}", base_url=slow.base_url, concurrency_level=3, max_retries=0)
    started = time.monotonic()
    RUNNERS[runner]([conn_id] * CALLS)
    assert slow.served == CALLS
    assert slow.peak == 3
    assert time.monotonic() - started >= CALLS / 3 * DELAY * 0.9  # the cap made them queue


@pytest.mark.parametrize("runner", list(RUNNERS))
def test_borrower_and_lender_share_one_cap(celigo_conn: Define, slow: SlowServer, runner: str) -> None:
    lender = celigo_conn(f"lend_{runner}", base_url=slow.base_url, concurrency_level=3, max_retries=0)
    borrower = celigo_conn(
        f"borrow_{runner}", base_url=slow.base_url, concurrency_level=20, borrow_concurrency_from=lender, max_retries=0
    )
    RUNNERS[runner]([lender, borrower] * (CALLS // 2))
    assert slow.served == CALLS
    assert slow.peak == 3


def test_the_measurement_sees_more_than_three(celigo_conn: Define, slow: SlowServer) -> None:
    """Control: with level 8 the same load reaches 8 in flight, so a peak of 3 above is the limiter's doing."""
    conn_id = celigo_conn("cap8", base_url=slow.base_url, concurrency_level=8, max_retries=0)
    sync_calls([conn_id] * CALLS)
    assert slow.peak == 8
