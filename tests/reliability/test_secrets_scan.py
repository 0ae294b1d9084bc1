"""Secrets: the API token shows nowhere, plain http goes only to loopback, and TLS is verified unless told not to.

The whole-run scans (task logs, XCom, rendered template fields, the rest of the Airflow DB) are made by the
fault and crash families on what their real Airflow runs left behind; this module covers what a single call
can leak: reprs of hooks, settings, operators and triggers; error texts and log lines when a server or proxy
echoes the token back; links that would carry the token to another host; plain http; TLS verification.

Figures: scenarios, the plain-http hosts refused (its bad inputs) and the places scanned, each one distinct
artefact: an object with all its reprs, an exception with all its texts, a captured log. The family measures
no faults, duplicate runs or orphaned jobs (printed ``-``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import Answer, CannedServer, self_signed_tls
from report import FIGURES, Place, exception_place, scan_for_token

from airflow_provider_celigo.connection import parse_base_url
from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, CeligoError

pytestmark = pytest.mark.timeout(120)

TOKEN = "reliability-" + hashlib.sha256(b"secrets").hexdigest()[:24]  # fixed: the same every run
FLOW = "6650f0000000000000000001"
JOB = "6651f00000000000000000aa"


def echo_json(status: int) -> Answer:
    """An answer that quotes the request's Authorization header back in an error envelope."""
    return Answer(
        status,
        lambda headers: json.dumps(
            {"errors": [{"code": "echo", "message": f"got {headers.get('Authorization')}", "field": TOKEN}]}
        ),
    )


def echo_text(status: int, content_type: str) -> Answer:
    """An answer (HTML page or plain bytes) that quotes the Authorization header, as a debugging proxy might."""
    return Answer(
        status,
        lambda headers: f"<html><body><pre>Authorization: {headers.get('Authorization')}</pre></body></html>",
        content_type=content_type,
    )


@pytest.fixture(scope="module")
def canned() -> Iterator[CannedServer]:
    with CannedServer() as server:
        yield server


@pytest.fixture
def conn(canned: CannedServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A Celigo connection at the canned server, with a small retry budget."""
    canned.reset()
    extra = {"base_url": canned.base_url, "max_retries": 2, "max_retry_wait": 0.1}
    monkeypatch.setenv(
        "AIRFLOW_CONN_CELIGO_SECRETS", json.dumps({"conn_type": "celigo", "password": TOKEN, "extra": extra})
    )
    return "celigo_secrets"


def record_scenario() -> None:
    FIGURES["secrets"].add_scenarios()


def test_reprs_of_hooks_settings_operators_and_triggers_hide_the_token(conn: str) -> None:
    from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook
    from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
    from airflow_provider_celigo.triggers.jobs import CeligoJobTrigger

    record_scenario()
    hook = CeligoHook(conn)
    settings = hook.settings
    assert settings.token == TOKEN  # the scan below has something to find
    async_hook = CeligoAsyncHook(conn)
    async_settings = asyncio.run(async_hook.get_settings())
    trigger = CeligoJobTrigger(job_id=JOB, flow_id=FLOW, celigo_conn_id=conn, poll_interval=5)
    operator = CeligoRunFlowOperator(task_id="run", flow_id=FLOW, celigo_conn_id=conn)
    # one place per object, holding every text view of it
    views = {
        "CeligoHook": [repr(hook), str(hook)],
        "CeligoAsyncHook": [repr(async_hook), str(async_hook)],
        "CeligoSettings": [repr(settings), str(settings)],
        "async CeligoSettings": [repr(async_settings), str(async_settings)],
        "CeligoJobTrigger": [repr(trigger), json.dumps(trigger.serialize(), default=str)],
        "CeligoRunFlowOperator": [
            repr(operator),
            repr({name: getattr(operator, name) for name in operator.template_fields}),
        ],
    }
    places = [Place("objects", f"reprs:{name}", "\n".join(texts)) for name, texts in views.items()]
    assert scan_for_token(TOKEN, places, "secrets") == []
    # The scan can fail: the session's headers do hold the token (that is how it is sent).
    assert TOKEN in hook.session.headers["Authorization"]


SYNC_ECHOES = [
    ("401-envelope-echo", "GET", "/tokenInfo", echo_json(401), lambda hook: hook.get_token_info(), 1),
    ("422-field-echo", "POST", "/exports$", echo_json(422), lambda hook: hook.create_resource("exports", {"a": 1}), 1),
    ("500-echo-after-retries", "GET", "/flows/", echo_json(500), lambda hook: hook.get_resource("flows", FLOW), 3),
    ("200-html-echo", "GET", "/flows/", echo_text(200, "text/html"), lambda hook: hook.get_resource("flows", FLOW), 1),
    (
        "200-binary-echo",
        "GET",
        "/flows/",
        echo_text(200, "application/octet-stream"),
        lambda hook: hook.get_resource("flows", FLOW),
        1,
    ),
    (
        "run-answer-echo-without-job-id",
        "POST",
        "/run$",
        Answer(201, lambda headers: json.dumps({"headers": {"Authorization": headers.get("Authorization")}})),
        lambda hook: hook.run_flow(FLOW),
        1,
    ),
    ("403-proxy-page-echo", "GET", "/jobs/", echo_text(403, "text/html"), lambda hook: hook.get_job(JOB), 1),
]


@pytest.mark.parametrize(
    ("name", "method", "path", "answer", "call", "requests"), SYNC_ECHOES, ids=[e[0] for e in SYNC_ECHOES]
)
def test_an_echoed_token_stays_out_of_errors_and_logs(
    name: str,
    method: str,
    path: str,
    answer: Answer,
    call: Any,
    requests: int,
    conn: str,
    canned: CannedServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from airflow_provider_celigo.hooks.celigo import CeligoHook

    record_scenario()
    canned.route(method, path, answer)
    with caplog.at_level(logging.DEBUG), pytest.raises(CeligoError) as caught:
        call(CeligoHook(conn))
    places = [exception_place(f"sync-{name}", caught.value), Place("captured logs", f"sync-{name}:log", caplog.text)]
    assert canned.total == requests, canned.log
    assert scan_for_token(TOKEN, places, "secrets") == [], places
    assert "***" in str(caught.value) or "Authorization" not in str(caught.value), str(caught.value)


@pytest.mark.parametrize(
    ("name", "answer"),
    [("401-echo", echo_json(401)), ("200-html-echo", echo_text(200, "text/html")), ("500-echo", echo_json(500))],
)
def test_an_echoed_token_stays_out_of_async_errors(name: str, answer: Answer, conn: str, canned: CannedServer) -> None:
    from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook

    record_scenario()
    canned.route("GET", "/jobs/", answer)

    async def call() -> Any:
        hook = CeligoAsyncHook(conn)
        try:
            return await hook.get_job(JOB)
        finally:
            await hook.aclose()

    with pytest.raises(CeligoApiError) as caught:
        asyncio.run(call())
    assert scan_for_token(TOKEN, [exception_place(f"async-{name}", caught.value)], "secrets") == []


def test_a_link_to_another_host_is_not_followed_with_the_token(conn: str, canned: CannedServer) -> None:
    """A ``Link: rel=next`` to another host (or port) is refused before any request is sent there."""
    from airflow_provider_celigo.hooks.celigo import CeligoHook

    record_scenario()
    with CannedServer() as elsewhere:
        elsewhere.route("GET", "/", Answer(200, "[]"))
        link = f'<{elsewhere.base_url}/flows?page=2>; rel="next"'
        canned.route("GET", "/flows$", Answer(200, json.dumps([{"_id": FLOW}]), headers={"Link": link}))
        with pytest.raises(CeligoConfigError) as caught:
            CeligoHook(conn).list_resources("flows")
        assert elsewhere.connections == 0 and elsewhere.total == 0
    assert "refusing to follow a link" in str(caught.value) and "API token" in str(caught.value)
    assert scan_for_token(TOKEN, [exception_place("link", caught.value)], "secrets") == []


REFUSED_HTTP_HOSTS = [
    "http://api.integrator.io/v1",
    "http://10.0.0.7:8080/v1",
    "http://celigo-proxy.internal/v1",
    "http://127.0.0.1.nip.io/v1",
    "http://localhost.example.com/v1",
    "http://[2001:db8::1]/v1",
]
LOOPBACK_HTTP_HOSTS = [
    "http://127.0.0.1:8765/v1",
    "http://127.8.9.10:1/v1",
    "http://localhost:8765/v1",
    "http://[::1]:8765/v1",
]


@pytest.mark.parametrize("url", REFUSED_HTTP_HOSTS)
def test_plain_http_is_refused_for_any_host_but_loopback(url: str) -> None:
    record_scenario()
    FIGURES["secrets"].add_bad_inputs(target="plain-http hosts")
    with pytest.raises(CeligoConfigError, match="plain http is only allowed to loopback hosts"):
        parse_base_url(url, "na")


@pytest.mark.parametrize("url", LOOPBACK_HTTP_HOSTS)
def test_plain_http_is_allowed_to_loopback(url: str) -> None:
    assert parse_base_url(url, "na") == url


def test_tls_verification_is_on_by_default(conn: str) -> None:
    import ssl

    from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

    hook = CeligoHook(conn)
    assert hook.settings.verify_ssl is True
    assert hook.session.verify is True

    async def client_context() -> ssl.SSLContext:
        async_hook = CeligoAsyncHook(conn)
        try:
            client = await async_hook._get_client()
            return client._transport._pool._ssl_context  # type: ignore[attr-defined]
        finally:
            await async_hook.aclose()

    context = asyncio.run(client_context())
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CannedServer]:
    """A loopback HTTPS server with a self-signed certificate that nothing trusts."""
    with self_signed_tls(tmp_path_factory.mktemp("tls")) as context, CannedServer(tls=context) as server:
        yield server


def _tls_conn(monkeypatch: pytest.MonkeyPatch, server: CannedServer, **extra: Any) -> str:
    server.reset()
    server.route("GET", "/tokenInfo$", Answer(200, json.dumps({"_userId": "u1"})))
    server.route("GET", "/jobs/", Answer(200, json.dumps({"_id": JOB, "status": "running"})))
    payload = {
        "conn_type": "celigo",
        "password": TOKEN,
        "extra": {"base_url": server.base_url, "max_retries": 3, **extra},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CELIGO_TLS", json.dumps(payload))
    return "celigo_tls"


def _async_get_job(conn_id: str) -> Any:
    from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook

    async def call() -> Any:
        hook = CeligoAsyncHook(conn_id)
        try:
            return await hook.get_job(JOB)
        finally:
            await hook.aclose()

    return asyncio.run(call())


def test_an_untrusted_certificate_is_refused_once_with_a_clear_error(
    tls_server: CannedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both hooks verify TLS: a self-signed certificate fails at the first attempt (not retried) with a hint."""
    from airflow_provider_celigo.hooks.celigo import CeligoHook

    record_scenario()
    conn_id = _tls_conn(monkeypatch, tls_server)
    with pytest.raises(CeligoApiError) as sync_error:
        CeligoHook(conn_id).get_token_info()
    sync_connections = tls_server.connections
    with pytest.raises(CeligoApiError) as async_error:
        _async_get_job(conn_id)
    for error in (sync_error.value, async_error.value):
        assert error.code == "tls_error", str(error)
        assert "certificate verification failed" in str(error) and "verify_ssl" in str(error)
    assert tls_server.total == 0, "no request may be sent over an unverified connection"
    assert sync_connections == 1 and tls_server.connections == 2, "a certificate failure is not retried"
    places = [exception_place("tls-sync", sync_error.value), exception_place("tls-async", async_error.value)]
    assert scan_for_token(TOKEN, places, "secrets") == []


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_ssl_false_is_honoured_even_with_a_ca_bundle_in_the_environment(
    tls_server: CannedServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``verify_ssl: false`` works in both hooks, also when REQUESTS_CA_BUNDLE is set (requests would let it win)."""
    from airflow_provider_celigo.hooks.celigo import CeligoHook

    record_scenario()
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(bundle))
    conn_id = _tls_conn(monkeypatch, tls_server, verify_ssl="false")
    assert CeligoHook(conn_id).get_token_info() == {"_userId": "u1"}
    assert _async_get_job(conn_id)["status"] == "running"
    assert tls_server.total == 2
