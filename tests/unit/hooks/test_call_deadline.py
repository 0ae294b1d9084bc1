"""The connection's ``timeout`` bounds the whole call (connect, headers, body) for both hooks, against a real
loopback server that sends its answer one byte at a time."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_celigo.exceptions import TransportError
from airflow_provider_celigo.hooks._transport.deadline import DeadlineAdapter
from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

Define = Callable[..., str]
BODY = b'{"_userId": "' + b"u" * 180 + b'"}'
DRIP = 0.15  # seconds between two bytes: every read gets a byte well within a 1 s timeout
TIMEOUT = 1
SLACK = 1.0


class Server:
    """A loopback HTTP/1.1 server; ``mode`` says how it answers each request.

    ``body``: headers at once, then the body a byte at a time; ``headers``: the status line and headers a
    byte at a time; ``chunked``: one-byte chunks; ``slow``: the body in three parts (well within the timeout);
    ``fast``: at once, keeping the connection alive.
    """

    def __init__(self, mode: str, context: ssl.SSLContext | None = None) -> None:
        self.mode = mode
        self.context = context
        self.connections = 0
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.1)  # so that the accept loop sees ``stop`` (close does not wake accept)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(timeout=5)

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket, data: bytes) -> None:
        for byte in data:
            if self.stop.is_set():
                raise OSError("server stopped")
            conn.sendall(bytes([byte]))
            time.sleep(DRIP)

    def _serve(self, raw: socket.socket) -> None:
        conn: socket.socket = raw
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(raw, server_side=True)
            while not self.stop.is_set():
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    request += chunk
                self._answer(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def _answer(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        if self.mode == "chunked":
            conn.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
            for byte in BODY:
                conn.sendall(b"1\r\n" + bytes([byte]) + b"\r\n")
                time.sleep(DRIP)
            conn.sendall(b"0\r\n\r\n")
            return
        head += b"Content-Length: %d\r\n\r\n" % len(BODY)
        if self.mode == "headers":
            self._drip(conn, head)
            conn.sendall(BODY)
        elif self.mode == "body":
            conn.sendall(head)
            self._drip(conn, BODY)
        elif self.mode == "slow":
            conn.sendall(head)
            for part in (BODY[:50], BODY[50:100], BODY[100:]):
                conn.sendall(part)
                time.sleep(0.2)
        else:
            conn.sendall(head + BODY)


@pytest.fixture
def serve(celigo_conn: Define) -> Iterator[Callable[..., str]]:
    servers: list[Server] = []

    def start(mode: str, *, timeout: float = TIMEOUT, context: ssl.SSLContext | None = None) -> str:
        server = Server(mode, context)
        servers.append(server)
        scheme = "https" if context else "http"
        return celigo_conn(
            f"c_loop_{len(servers)}",
            base_url=f"{scheme}://127.0.0.1:{server.port}/v1",
            timeout=timeout,
            max_retries=0,
            verify_ssl=context is None,
        )

    yield start
    for server in servers:
        server.close()


def sync_call(conn_id: str) -> tuple[Any, float]:
    hook = CeligoHook(conn_id)
    started = time.monotonic()
    try:
        return hook.get_token_info(), time.monotonic() - started
    except TransportError as error:
        return error, time.monotonic() - started
    finally:
        hook.close()


def async_call(conn_id: str) -> tuple[Any, float]:
    async def main() -> Any:
        hook = CeligoAsyncHook(conn_id)
        try:
            return await hook.request("GET", "/tokenInfo")
        finally:
            await hook.aclose()

    started = time.monotonic()
    try:
        return asyncio.run(main()), time.monotonic() - started
    except TransportError as error:
        return error, time.monotonic() - started


CALLS = {"sync": sync_call, "async": async_call}


@pytest.mark.parametrize("mode", ["body", "headers", "chunked"])
@pytest.mark.parametrize("hook", ["sync", "async"])
def test_a_dribbled_answer_fails_within_the_timeout(serve: Callable[..., str], mode: str, hook: str) -> None:
    outcome, elapsed = CALLS[hook](serve(mode))
    assert isinstance(outcome, TransportError), outcome
    assert (outcome.status, outcome.code, outcome.path) == (0, "timeout", "/v1/tokenInfo")
    assert "within 1s" in outcome.message
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + SLACK  # the whole answer would take about 30 s


@pytest.mark.parametrize("hook", ["sync", "async"])
def test_a_slow_answer_within_the_timeout_succeeds(serve: Callable[..., str], hook: str) -> None:
    outcome, elapsed = CALLS[hook](serve("slow", timeout=3))
    assert outcome == {"_userId": "u" * 180}
    assert elapsed < 3


def test_calls_on_a_kept_alive_connection_each_get_a_fresh_deadline(serve: Callable[..., str]) -> None:
    conn_id = serve("fast", timeout=1)
    hook = CeligoHook(conn_id)
    try:
        assert isinstance(hook.session.get_adapter("http://127.0.0.1/"), DeadlineAdapter)
        for _ in range(3):
            assert hook.get_token_info() == {"_userId": "u" * 180}
            time.sleep(0.4)  # 1.2 s in all: more than one timeout, on one connection
    finally:
        hook.close()


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    folder: Path = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # a self-signed certificate
@pytest.mark.parametrize("hook", ["sync", "async"])
def test_a_dribbled_answer_over_tls_fails_within_the_timeout(
    serve: Callable[..., str], tls_context: ssl.SSLContext, hook: str
) -> None:
    outcome, elapsed = CALLS[hook](serve("body", context=tls_context))
    assert isinstance(outcome, TransportError) and outcome.code == "timeout", outcome
    assert elapsed < TIMEOUT + SLACK
