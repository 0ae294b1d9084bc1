"""The API token is blanked out of everything quoted from an answer, in every form a server may echo it."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
import requests_mock as rm

from airflow_provider_celigo.exceptions import CeligoApiError
from airflow_provider_celigo.hooks._transport import clients
from airflow_provider_celigo.hooks._transport.clients import auth_headers, redact, secret_forms
from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

API = "https://api.integrator.io/v1"
TOKEN = 'r3d/act+me=now&"ok"'
CONN = "6650c0000000000000000001"


def forms(token: str) -> dict[str, str]:
    escaped = json.dumps(token)[1:-1]
    return {
        "raw": token,
        "json": escaped,
        "json with \\/": escaped.replace("/", "\\/"),
        "all \\u escapes": "".join(f"\\u{ord(c):04x}" for c in token),
        "upper \\u escapes of symbols": "".join(c if c.isalnum() else f"\\u{ord(c):04X}" for c in token),
        "quote": quote(token, safe=""),
        "quote lower-case": quote(token, safe="").lower(),
        "quote_plus": quote_plus(token),
        "html": token.replace("&", "&amp;").replace('"', "&quot;").replace("/", "&#x2F;"),
    }


FORMS = forms(TOKEN)


@pytest.fixture
def celigo_conn(celigo_conn: Callable[..., str]) -> Callable[..., str]:
    return functools.partial(celigo_conn, password=TOKEN)


def leaks(text: str) -> list[str]:
    return [name for name, form in FORMS.items() if form in text]


# -- the function -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FORMS))
def test_redact_blanks_every_form_in_text_and_bytes(name: str) -> None:
    text = f"before {FORMS[name]} after"
    assert redact(text, TOKEN) == "before *** after"
    assert redact(text.encode(), TOKEN) == b"before *** after"


def test_redact_blanks_a_mix_of_escaped_and_plain_characters() -> None:
    mixed = 'r3d\\/act%2Bme\\u003dnow&amp;\\"ok\\u0022'
    assert redact(f"[{mixed}]", TOKEN) == "[***]"


def test_redact_leaves_other_text_and_an_empty_secret_alone() -> None:
    assert redact("r3d/act+me=later", TOKEN) == "r3d/act+me=later"
    assert redact("anything", "") == "anything"
    assert redact(b"", TOKEN) == b""


def test_mask_token_registers_the_encoded_forms_with_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow.sdk.log

    registered: list[str] = []
    monkeypatch.setattr(airflow.sdk.log, "mask_secret", registered.append)
    clients.mask_token(TOKEN)
    assert registered == secret_forms(TOKEN)
    for name in ("raw", "json", "json with \\/", "quote", "quote_plus"):
        assert FORMS[name] in registered, name


# -- through the hooks -------------------------------------------------------------------------------------


def _get(hook: CeligoHook, *, path: str, not_found: str | None = None) -> Any:
    return hook.request("GET", path, not_found=not_found)


def _scenarios(mock: rm.Mocker) -> dict[str, Callable[[CeligoHook], Any]]:
    calls: dict[str, Callable[[CeligoHook], Any]] = {}
    for number, (name, form) in enumerate(FORMS.items()):
        json_body = '{"errors": [{"code": "unauthorized", "message": "Bearer ' + form + ' is unknown"}]}'
        mock.get(f"{API}/e401/{number}", status_code=401, text=json_body, headers={"Content-Type": "application/json"})
        mock.get(f"{API}/e404/{number}", status_code=404, text='{"message": "no ' + form + '"}')
        mock.get(f"{API}/e502/{number}", status_code=502, text=f"<html><body>upstream saw {form}</body></html>")
        mock.get(
            f"{API}/login/{number}", text=f"<html>Log in again, {form}</html>", headers={"Content-Type": "text/html"}
        )
        calls[f"401 {name}"] = functools.partial(_get, path=f"/e401/{number}")
        calls[f"404 {name}"] = functools.partial(_get, path=f"/e404/{number}", not_found="the thing is missing")
        calls[f"502 {name}"] = functools.partial(_get, path=f"/e502/{number}")
        calls[f"200 html {name}"] = functools.partial(_get, path=f"/login/{number}")
    return calls


def test_sync_errors_never_quote_the_token(celigo_conn: Callable[..., str], requests_mock: rm.Mocker) -> None:
    celigo_conn("celigo_default", max_retries=0)
    for name, call in _scenarios(requests_mock).items():
        with pytest.raises(CeligoApiError) as caught:
            call(CeligoHook())
        error = caught.value
        shown = "\n".join([str(error), repr(error), str(error.args), json.dumps(error.errors), str(error.field)])
        assert "***" in error.message, name
        assert leaks(shown) == [], name


def test_ping_reasons_never_quote_the_token(celigo_conn: Callable[..., str], requests_mock: rm.Mocker) -> None:
    celigo_conn("celigo_default", max_retries=0)
    requests_mock.get(f"{API}/connections/{CONN}/ping", json={"errors": [{"message": f"login {TOKEN} refused"}]})
    requests_mock.get(f"{API}/connections/{CONN}", json={"_id": CONN, "name": "shop"})
    result = CeligoHook().ping_connection(CONN)
    assert result["ok"] is False and result["reason"] == "login *** refused"


@pytest.mark.parametrize("name", ["json with \\/", "all \\u escapes", "quote"])
def test_async_errors_never_quote_the_token(
    celigo_conn: Callable[..., str], monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    celigo_conn("celigo_default", max_retries=0)
    body = '{"message": "Bearer ' + FORMS[name] + ' is unknown"}'
    answer = httpx.Response(401, text=body, headers={"Content-Type": "application/json"})

    async def get_client(self: CeligoAsyncHook) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=httpx.MockTransport(lambda request: answer), headers=auth_headers(await self.get_settings())
            )
        return self._client

    monkeypatch.setattr(CeligoAsyncHook, "_get_client", get_client)

    async def call() -> Any:
        hook = CeligoAsyncHook()
        try:
            return await hook.request("GET", "/tokenInfo")
        finally:
            await hook.aclose()

    with pytest.raises(CeligoApiError) as caught:
        asyncio.run(call())
    assert caught.value.message == "Bearer *** is unknown"
    assert leaks(str(caught.value) + repr(caught.value)) == []
