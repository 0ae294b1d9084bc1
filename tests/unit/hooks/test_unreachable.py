"""An API that cannot be reached: the error names the host:port tried, the cause, the tries and what to check.

First with mocked transports (requests-mock, ``httpx.MockTransport``) raising what requests and httpx raise,
then over real sockets on loopback, for both hooks: a closed port (refused), an unresolvable name (DNS), a
server that accepts and never answers (timeout) and a plain-TCP server spoken to over https (TLS).
"""

from __future__ import annotations

import asyncio
import pickle
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
import requests_mock as rm
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NameResolutionError, NewConnectionError

from airflow_provider_celigo.exceptions import TransportError
from airflow_provider_celigo.hooks._transport.clients import auth_headers
from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

API = "https://api.integrator.io/v1"
TOKEN_INFO = f"{API}/tokenInfo"


def _refused() -> requests.ConnectionError:
    inner = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    inner.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return requests.ConnectionError(MaxRetryError(None, "/v1/tokenInfo", reason=inner))  # type: ignore[arg-type]


def _dns() -> requests.ConnectionError:
    gai = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    inner = NameResolutionError("api.integrator.io", None, gai)  # type: ignore[arg-type]
    inner.__cause__ = gai
    return requests.ConnectionError(MaxRetryError(None, "/v1/tokenInfo", reason=inner))  # type: ignore[arg-type]


def _connect_timeout() -> requests.ConnectTimeout:
    inner = ConnectTimeoutError(None, "Connection to api.integrator.io timed out. (connect timeout=5)")
    return requests.ConnectTimeout(MaxRetryError(None, "/v1/tokenInfo", reason=inner))  # type: ignore[arg-type]


def _tls() -> requests.exceptions.SSLError:
    return requests.exceptions.SSLError(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"))


REQUESTS_FAILURES: dict[str, tuple[Callable[[], Exception], str, str]] = {
    # name: (the error requests raises, the cause the message gives, a word of its advice)
    "refused": (_refused, "could not reach api.integrator.io:443 (connection refused)", "nothing listens"),
    "dns": (_dns, "could not reach api.integrator.io:443 (DNS lookup failed: Name or service not known)", "DNS"),
    "connect-timeout": (_connect_timeout, "could not reach api.integrator.io:443 (timed out connecting", "firewall"),
    "read-timeout": (
        lambda: requests.ReadTimeout("Read timed out. (read timeout=5)"),
        "no complete answer from api.integrator.io:443 (timed out: no complete answer within 5s)",
        "raise the connection extra timeout",
    ),
    "tls": (_tls, "could not reach api.integrator.io:443 (TLS handshake failed: [SSL: WRONG_VERSION_NUMBER]", "https"),
    "dropped": (
        lambda: requests.ConnectionError(ConnectionResetError(104, "Connection reset by peer")),
        "no complete answer from api.integrator.io:443 (the connection was dropped before a complete answer)",
        "closed the connection",
    ),
}


@pytest.mark.parametrize("failure", sorted(REQUESTS_FAILURES))
def test_requests_failures_name_the_target_and_cause(
    failure: str, celigo_conn: Callable[..., str], requests_mock: rm.Mocker
) -> None:
    make, expected, advice = REQUESTS_FAILURES[failure]
    celigo_conn("celigo_default", max_retries=2, max_retry_wait=0, timeout=5)
    requests_mock.get(TOKEN_INFO, exc=make())
    with pytest.raises(TransportError) as caught:
        CeligoHook().get_token_info()
    message = str(caught.value)
    assert message.startswith(f"integrator.io: {expected}"), message
    assert re.search(r" on GET /v1/tokenInfo after 3 tries in \d+\.\d s: ", message), message
    assert advice in message
    assert requests_mock.call_count == 3
    assert caught.value.target == "api.integrator.io:443" and caught.value.tries == 3


def test_the_error_survives_pickling_with_its_target(celigo_conn: Callable[..., str], requests_mock: rm.Mocker) -> None:
    celigo_conn("celigo_default", max_retries=0)
    requests_mock.get(TOKEN_INFO, exc=_refused())
    with pytest.raises(TransportError) as caught:
        CeligoHook().get_token_info()
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is TransportError
    assert str(copy) == str(caught.value)
    assert "after 1 try in" in str(copy)


def _async_hook_with(handler: Callable[[httpx.Request], httpx.Response], monkeypatch: pytest.MonkeyPatch) -> None:
    async def get_client(self: CeligoAsyncHook) -> httpx.AsyncClient:
        if self._client is None:
            settings = await self.get_settings()
            self._client = httpx.AsyncClient(
                transport=httpx.MockTransport(handler), headers=auth_headers(settings), timeout=settings.timeout
            )
        return self._client

    monkeypatch.setattr(CeligoAsyncHook, "_get_client", get_client)


async def _token_info() -> Any:
    hook = CeligoAsyncHook()
    try:
        return await hook.request("GET", "/tokenInfo")
    finally:
        await hook.aclose()


def _raise_from(error: Exception, cause: BaseException) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error from cause

    return handler


HTTPX_FAILURES: dict[str, tuple[Callable[[], Callable[[httpx.Request], httpx.Response]], str]] = {
    "refused": (
        lambda: _raise_from(httpx.ConnectError("All connection attempts failed"), ConnectionRefusedError(111, "x")),
        "could not reach api.integrator.io:443 (connection refused)",
    ),
    "dns": (
        lambda: _raise_from(httpx.ConnectError("[Errno -2]"), socket.gaierror(-2, "Name or service not known")),
        "could not reach api.integrator.io:443 (DNS lookup failed: Name or service not known)",
    ),
    "tls": (
        lambda: _raise_from(httpx.ConnectError("tls"), ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version")),
        "could not reach api.integrator.io:443 (TLS handshake failed: [SSL: WRONG_VERSION_NUMBER]",
    ),
    "connect-timeout": (
        lambda: _raise_from(httpx.ConnectTimeout("timed out"), TimeoutError()),
        "could not reach api.integrator.io:443 (timed out connecting, no answer within 5s)",
    ),
    "read-timeout": (
        lambda: _raise_from(httpx.ReadTimeout("timed out"), TimeoutError()),
        "no complete answer from api.integrator.io:443 (timed out: no complete answer within 5s)",
    ),
}


@pytest.mark.parametrize("failure", sorted(HTTPX_FAILURES))
def test_httpx_failures_name_the_target_and_cause(
    failure: str, celigo_conn: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make, expected = HTTPX_FAILURES[failure]
    celigo_conn("celigo_default", max_retries=1, max_retry_wait=0, timeout=5)
    _async_hook_with(make(), monkeypatch)
    with pytest.raises(TransportError) as caught:
        asyncio.run(_token_info())
    message = str(caught.value)
    assert message.startswith(f"integrator.io: {expected}"), message
    assert " on GET /v1/tokenInfo after 2 tries in " in message, message


# -- real sockets on loopback ---------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again at once: nothing listens there


@pytest.fixture
def loopback_server() -> Iterator[Callable[[str], int]]:
    """Start loopback TCP servers; return their ports. ``silent`` accepts and never answers; ``plain`` answers
    every connection with a plain-text HTTP 400 (not TLS) and closes it. All are stopped at the end."""
    stop = threading.Event()
    listeners: list[socket.socket] = []
    held: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def serve(listener: socket.socket, behaviour: str) -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            if behaviour == "silent":
                held.append(conn)
                continue
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(4096)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def start(behaviour: str) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        listeners.append(listener)
        thread = threading.Thread(target=serve, args=(listener, behaviour), daemon=True)
        thread.start()
        threads.append(thread)
        return int(listener.getsockname()[1])

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    for sock in [*listeners, *held]:
        sock.close()


def _call(hook: str) -> TransportError:
    """Call GET /tokenInfo on ``celigo_default`` with the sync or async hook; return the TransportError."""
    try:
        if hook == "sync":
            CeligoHook().get_token_info()
        else:
            asyncio.run(_token_info())
    except TransportError as error:
        return error
    raise AssertionError("the call succeeded")


HOOKS = ["sync", "async"]


@pytest.mark.parametrize("hook", HOOKS)
def test_a_closed_port_is_refused(hook: str, celigo_conn: Callable[..., str]) -> None:
    port = _closed_port()
    celigo_conn("celigo_default", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, max_retry_wait=0)
    message = str(_call(hook))
    assert re.fullmatch(
        rf"integrator\.io: could not reach 127\.0\.0\.1:{port} \(connection refused\) on GET /v1/tokenInfo after 2 "
        r"tries in \d+\.\d s: nothing listens there: check the connection's region/base_url and the network",
        message,
    ), message


@pytest.mark.parametrize("hook", HOOKS)
def test_an_unknown_host_is_a_dns_failure(hook: str, celigo_conn: Callable[..., str]) -> None:
    celigo_conn("celigo_default", base_url="https://nonexistent.invalid/v1", max_retries=0)
    error = _call(hook)
    assert str(error).startswith("integrator.io: could not reach nonexistent.invalid:443 (DNS lookup failed: "), error
    assert "after 1 try in" in str(error) and "DNS" in str(error).split("): ")[-1]
    assert error.reached is False


@pytest.mark.parametrize("hook", HOOKS)
def test_a_server_that_never_answers_times_out(
    hook: str, celigo_conn: Callable[..., str], loopback_server: Callable[[str], int]
) -> None:
    port = loopback_server("silent")
    celigo_conn("celigo_default", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=1)
    error = _call(hook)
    assert str(error).startswith(
        f"integrator.io: no complete answer from 127.0.0.1:{port} (timed out: no complete answer within 1s) "
        "on GET /v1/tokenInfo after 1 try in "
    ), error
    assert error.code == "timeout" and error.reached is True


@pytest.mark.parametrize("hook", HOOKS)
def test_https_to_a_plain_tcp_server_is_a_tls_failure(
    hook: str, celigo_conn: Callable[..., str], loopback_server: Callable[[str], int]
) -> None:
    port = loopback_server("plain")
    celigo_conn("celigo_default", base_url=f"https://127.0.0.1:{port}/v1", max_retries=0)
    error = _call(hook)
    assert str(error).startswith(f"integrator.io: could not reach 127.0.0.1:{port} (TLS handshake failed: "), error
    assert "https to a plain-http port" in str(error)
