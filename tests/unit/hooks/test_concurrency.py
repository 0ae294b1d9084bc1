"""The per-connection cap on calls in flight, measured by a real slow HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

Define = Callable[..., str]
CALLS = 50
DELAY = 0.05


class SlowServer(ThreadingHTTPServer):
    """Answers every GET after ``DELAY`` seconds and records the peak number of requests in flight."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SlowHandler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.served = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def reset(self) -> None:
        with self.lock:
            self.in_flight = self.peak = self.served = 0


class _SlowHandler(BaseHTTPRequestHandler):
    server: SlowServer

    def do_GET(self) -> None:
        server = self.server
        with server.lock:
            server.in_flight += 1
            server.peak = max(server.peak, server.in_flight)
        time.sleep(DELAY)
        with server.lock:  # leave the count before answering, so the client cannot start its next call first
            server.in_flight -= 1
            server.served += 1
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[SlowServer]:
    server = SlowServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
