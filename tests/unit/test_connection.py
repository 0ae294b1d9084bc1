"""Connection settings: good values parse, every bad value is refused with a message naming field, value and range."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_celigo.connection import CeligoSettings, pool_name_for
from airflow_provider_celigo.exceptions import CeligoConfigError
from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

Define = Callable[..., str]
TEST_TOKEN = "unit-settings-token-5d8e2a"


@pytest.fixture
def celigo_conn(celigo_conn: Define) -> Define:
    """The shared fixture, with this module's own token (so the leak checks below know what to look for)."""
    return functools.partial(celigo_conn, password=TEST_TOKEN)


def sync_settings(conn_id: str) -> CeligoSettings:
    return CeligoHook(conn_id).settings


def async_settings(conn_id: str) -> CeligoSettings:
    return asyncio.run(CeligoAsyncHook(conn_id).get_settings())


def refusal(conn_id: str, reader: Callable[[str], CeligoSettings] = sync_settings) -> str:
    with pytest.raises(CeligoConfigError) as caught:
        reader(conn_id)
    message = str(caught.value)
    assert TEST_TOKEN not in message and TEST_TOKEN not in repr(caught.value)
    return message


# -- good values --------------------------------------------------------------------------------------------


def test_defaults(celigo_conn: Define) -> None:
    settings = sync_settings(celigo_conn("celigo_default"))
    assert settings.token == TEST_TOKEN
    assert (settings.region, settings.base_url) == ("na", "https://api.integrator.io/v1")
    assert (settings.concurrency_level, settings.concurrency_owner, settings.borrowed_from) == (
        5,
        "celigo_default",
        None,
    )
    assert (settings.timeout, settings.max_retries, settings.max_retry_wait, settings.verify_ssl) == (
        30.0,
        5,
        60.0,
        True,
    )
    assert settings.pool_name == "celigo_celigo_default" == pool_name_for("celigo_default")


def test_eu_region_and_numbers_as_strings(celigo_conn: Define) -> None:
    conn_id = celigo_conn("c_eu", region=" EU ", concurrency_level="3", timeout="12.5", max_retries="2")
    settings = sync_settings(conn_id)
    assert (settings.region, settings.base_url) == ("eu", "https://api.eu.integrator.io/v1")
    assert (settings.concurrency_level, settings.timeout, settings.max_retries) == (3, 12.5, 2)
    assert settings.ui_url == "https://eu.integrator.io"


@pytest.mark.parametrize(("raw", "level"), [(1, 1), (25, 25), (" 7 ", 7), (3.0, 3)])
def test_accepted_levels(celigo_conn: Define, raw: Any, level: int) -> None:
    assert sync_settings(celigo_conn("c_level", concurrency_level=raw)).concurrency_level == level


def test_prefixed_extras_of_older_forms(celigo_conn: Define) -> None:
    conn_id = celigo_conn("c_old", **{"extra__celigo__region": "eu", "extra__celigo__concurrency_level": "4"})
    settings = sync_settings(conn_id)
    assert (settings.region, settings.concurrency_level) == ("eu", 4)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765/v1", "http://localhost:1/v1/", "http://[::1]:9/v1", "https://proxy.example.com/v1"]
)
def test_accepted_base_urls(celigo_conn: Define, url: str) -> None:
    assert sync_settings(celigo_conn("c_url", base_url=url)).base_url == url.rstrip("/")


def test_uri_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_C_URI", f"celigo://:{TEST_TOKEN}@/?region=eu&concurrency_level=3")
    settings = sync_settings("c_uri")
    assert (settings.token, settings.region, settings.concurrency_level) == (TEST_TOKEN, "eu", 3)


def test_borrower_shares_lender_level_and_pool(celigo_conn: Define) -> None:
    celigo_conn("lender", concurrency_level=4)
    celigo_conn("borrower", concurrency_level=20, borrow_concurrency_from="lender")
    for reader in (sync_settings, async_settings):
        settings = reader("borrower")
        assert (settings.concurrency_level, settings.concurrency_owner, settings.borrowed_from) == (
            4,
            "lender",
            "lender",
        )
        assert settings.pool_name == "celigo_lender"


def test_token_not_in_repr(celigo_conn: Define) -> None:
    settings = sync_settings(celigo_conn("c_repr"))
    hook = CeligoHook("c_repr")
    for text in (repr(settings), str(settings), repr(hook), str(hook), repr(CeligoAsyncHook("c_repr"))):
        assert TEST_TOKEN not in text
    assert "c_repr" in repr(hook)


# -- bad values ---------------------------------------------------------------------------------------------


def test_unknown_region(celigo_conn: Define) -> None:
    message = refusal(celigo_conn("c_bad", region="apac"))
    assert "'region'" in message and "'apac'" in message and "['na', 'eu', 'au', 'ca']" in message
    assert "au = Australia (api.au.integrator.io)" in message


@pytest.mark.parametrize(
    ("region", "url"),
    [("au", "https://api.au.integrator.io/v1"), ("CA", "https://api.ca.integrator.io/v1")],
)
def test_au_and_ca_regions(celigo_conn: Define, region: str, url: str) -> None:
    settings = sync_settings(celigo_conn(f"c_{region.lower()}", region=region))
    assert (settings.region, settings.base_url) == (region.lower(), url)
    assert settings.ui_url == f"https://{region.lower()}.integrator.io"


@pytest.mark.parametrize("password", ["", "   ", None])
def test_empty_token(celigo_conn: Define, password: Any) -> None:
    message = refusal(celigo_conn("c_bad", password=password))
    assert "no API token" in message and "password" in message


def test_token_with_whitespace_is_refused_without_echo(celigo_conn: Define) -> None:
    message = refusal(celigo_conn("c_bad", password=f"{TEST_TOKEN} extra"))
    assert "whitespace" in message


@pytest.mark.parametrize(("raw", "shown"), [(0, "0"), (26, "26"), ("abc", "'abc'"), (2.5, "2.5"), (True, "True")])
def test_bad_concurrency_level(celigo_conn: Define, raw: Any, shown: str) -> None:
    message = refusal(celigo_conn("c_bad", concurrency_level=raw))
    assert "'concurrency_level'" in message and f"is {shown};" in message and "from 1 to 25" in message


@pytest.mark.parametrize(("name", "raw", "accepted"), [
    ("timeout", 0.5, "from 1 to 600"),
    ("timeout", 601, "from 1 to 600"),
    ("timeout", "soon", "from 1 to 600"),
    ("max_retries", 21, "from 0 to 20"),
    ("max_retry_wait", -1, "from 0 to 900"),
])  # fmt: skip
def test_numbers_out_of_range(celigo_conn: Define, name: str, raw: Any, accepted: str) -> None:
    message = refusal(celigo_conn("c_bad", **{name: raw}))
    assert f"'{name}'" in message and repr(raw) in message and accepted in message


def test_plain_http_to_remote_host(celigo_conn: Define) -> None:
    message = refusal(celigo_conn("c_bad", base_url="http://api.integrator.io/v1"))
    assert "'base_url'" in message and "'http://api.integrator.io/v1'" in message
    assert "loopback" in message and "https" in message


@pytest.mark.parametrize("url", ["https://api.integrator.io", "https://api.integrator.io/v2", "ftp://x/v1", "nonsense"])
def test_base_url_shape(celigo_conn: Define, url: str) -> None:
    message = refusal(celigo_conn("c_bad", base_url=url))
    assert "'base_url'" in message and repr(url) in message and "/v1" in message


@pytest.mark.parametrize("reader", [sync_settings, async_settings], ids=["sync", "async"])
def test_lender_missing(celigo_conn: Define, reader: Callable[[str], CeligoSettings]) -> None:
    message = refusal(celigo_conn("c_b", borrow_concurrency_from="ghost"), reader)
    assert "'ghost'" in message and "does not exist" in message and "borrow_concurrency_from" in message


@pytest.mark.parametrize("reader", [sync_settings, async_settings], ids=["sync", "async"])
def test_lender_not_celigo(
    celigo_conn: Define, monkeypatch: pytest.MonkeyPatch, reader: Callable[[str], CeligoSettings]
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_WEB", json.dumps({"conn_type": "http", "host": "example.com"}))
    message = refusal(celigo_conn("c_b", borrow_concurrency_from="web"), reader)
    assert "'web'" in message and "'http'" in message and "not 'celigo'" in message


@pytest.mark.parametrize("reader", [sync_settings, async_settings], ids=["sync", "async"])
def test_lender_chain(celigo_conn: Define, reader: Callable[[str], CeligoSettings]) -> None:
    celigo_conn("c_c", concurrency_level=3)
    celigo_conn("c_b", borrow_concurrency_from="c_c")
    message = refusal(celigo_conn("c_a", borrow_concurrency_from="c_b"), reader)
    assert "a chain" in message and "'c_b'" in message and "'c_c'" in message


@pytest.mark.parametrize("reader", [sync_settings, async_settings], ids=["sync", "async"])
def test_lender_cycle(celigo_conn: Define, reader: Callable[[str], CeligoSettings]) -> None:
    celigo_conn("c_b", borrow_concurrency_from="c_a")
    message = refusal(celigo_conn("c_a", borrow_concurrency_from="c_b"), reader)
    assert "a cycle" in message and "'c_b'" in message


@pytest.mark.parametrize("reader", [sync_settings, async_settings], ids=["sync", "async"])
def test_lender_is_self(celigo_conn: Define, reader: Callable[[str], CeligoSettings]) -> None:
    message = refusal(celigo_conn("c_a", borrow_concurrency_from="c_a"), reader)
    assert "itself" in message and "'c_a'" in message


def test_connection_of_another_type(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_WEB", json.dumps({"conn_type": "http", "password": TEST_TOKEN}))
    message = refusal("web")
    assert "'http'" in message and "type 'celigo'" in message


# -- unknown extras -----------------------------------------------------------------------------------------

KNOWN = "region, concurrency_level, borrow_concurrency_from, base_url, timeout, max_retries, max_retry_wait, verify_ssl"


@pytest.mark.parametrize(
    ("key", "closest"),
    [
        ("base_ur", "base_url"),
        ("regoin", "region"),
        ("extra__celigo__regoin", "region"),
        ("extra__celigo_region", "region"),
        ("Timeout", "timeout"),
        ("concurency_level", "concurrency_level"),
        ("verify_tls", "verify_ssl"),
    ],
)
@pytest.mark.parametrize("reader", [sync_settings, async_settings], ids=["sync", "async"])
def test_unknown_extra_is_refused_with_did_you_mean(
    celigo_conn: Define, reader: Callable[[str], CeligoSettings], key: str, closest: str
) -> None:
    message = refusal(celigo_conn("c_typo", **{key: "value-7c1f"}), reader)
    assert f"unknown extra {key!r} (did you mean {closest!r}?)" in message
    assert KNOWN in message and "extra__celigo__<name>" in message and "rename or remove it" in message
    assert "value-7c1f" not in message  # an unknown key may hold a secret


def test_typo_of_base_url_does_not_send_the_token_to_production(celigo_conn: Define) -> None:
    message = refusal(celigo_conn("c_typo", base_ur="http://127.0.0.1:8765/v1"))
    assert "'base_ur' (did you mean 'base_url'?)" in message and "'c_typo'" in message


def test_every_unknown_extra_is_named_at_once(celigo_conn: Define) -> None:
    message = refusal(celigo_conn("c_typo", regoin="eu", colour="blue"))
    assert "unknown extras 'regoin' (did you mean 'region'?), 'colour'," in message
    assert "did you mean" not in message.split("'colour'")[1].split("Known")[0]
    assert "rename or remove them" in message


def test_unknown_extra_of_the_lender_is_refused(celigo_conn: Define) -> None:
    celigo_conn("lender", concurency_level=3)
    message = refusal(celigo_conn("borrower", borrow_concurrency_from="lender"))
    assert "'lender'" in message and "'concurency_level' (did you mean 'concurrency_level'?)" in message


def test_airflow_3_form_extras_are_accepted(celigo_conn: Define) -> None:
    """Airflow 3's connection form saves every field of the form, ``null`` for the ones left empty."""
    form = {
        "region": "eu",
        "concurrency_level": 5,
        "borrow_concurrency_from": None,
        "base_url": None,
        "timeout": 30,
        "max_retries": 5,
        "max_retry_wait": 60,
        "verify_ssl": True,
    }
    settings = sync_settings(celigo_conn("c_form", **form))
    assert (settings.region, settings.base_url, settings.borrowed_from) == (
        "eu",
        "https://api.eu.integrator.io/v1",
        None,
    )


def test_prefixed_form_extras_with_empty_strings_are_accepted(celigo_conn: Define) -> None:
    """Older forms saved ``extra__celigo__<field>`` for every field, ``""`` for the empty ones."""
    form = {f"extra__celigo__{name}": "" for name in KNOWN.split(", ")}
    form |= {"extra__celigo__region": "eu", "extra__celigo__verify_ssl": "false", "timeout": 12}
    settings = sync_settings(celigo_conn("c_old_form", **form))
    assert (settings.region, settings.verify_ssl, settings.timeout, settings.concurrency_level) == ("eu", False, 12, 5)


def test_an_extra_that_is_not_an_object_is_refused() -> None:
    from airflow_provider_celigo.connection import check_extra_keys

    with pytest.raises(CeligoConfigError, match="JSON list, not an object; write the extra as a JSON object"):
        check_extra_keys(["region", "eu"], "c_list")  # type: ignore[arg-type]


# -- region: case and spaces --------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "region"), [("Na", "na"), (" EU ", "eu"), ("\teu\n", "eu"), ("NA", "na")])
def test_region_ignores_case_and_spaces(celigo_conn: Define, raw: str, region: str) -> None:
    assert sync_settings(celigo_conn("c_r", region=raw)).region == region
    assert sync_settings(celigo_conn("c_r", extra__celigo__region=raw)).region == region


@pytest.mark.parametrize("raw", ["US", "apj", "uk", " apac "])
def test_other_regions_are_refused_listing_the_valid_ones(celigo_conn: Define, raw: str) -> None:
    message = refusal(celigo_conn("c_r", region=raw))
    assert repr(raw) in message and "['na', 'eu', 'au', 'ca']" in message and "North America" in message


# -- token characters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "described"),
    [
        ("\u200b", "an invisible (control or formatting) character (U+200B ZERO WIDTH SPACE)"),
        ("\x00", "an invisible (control or formatting) character (U+0000)"),
        ("\x7f", "an invisible (control or formatting) character (U+007F)"),
        ("\u00a0", "whitespace (U+00A0 NO-BREAK SPACE)"),
        ("\t", "whitespace (U+0009)"),
        ("\u00e9", "a non-ASCII character at position"),
        ("\u201c", "a non-ASCII character at position"),
    ],
)
@pytest.mark.parametrize("reader", [sync_settings, async_settings], ids=["sync", "async"])
def test_token_with_a_character_no_header_can_carry_is_refused(
    celigo_conn: Define, reader: Callable[[str], CeligoSettings], bad: str, described: str
) -> None:
    message = refusal(celigo_conn("c_tok", password=f"{TEST_TOKEN[:6]}{bad}{TEST_TOKEN[6:]}"), reader)
    assert f"API token contains {described}" in message and "position 7" in message
    assert TEST_TOKEN[:6] not in message and TEST_TOKEN[6:] not in message
    if bad.isprintable() and not bad.isspace():
        assert bad not in message  # a visible character of the password field is never shown


def test_token_with_surrounding_whitespace_is_trimmed(celigo_conn: Define) -> None:
    assert sync_settings(celigo_conn("c_tok", password=f"  {TEST_TOKEN}\n")).token == TEST_TOKEN


# -- base_url: credentials and unparsable URLs --------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://alice:pass-9d2e@host.example/v1", "'https://***@host.example/v1'"),
        ("https://:pass-9d2e@host.example/v1", "'https://***@host.example/v1'"),
        ("https://alice-9d2e@host.example/v1", "'https://***@host.example/v1'"),
        ("http://alice:pass-9d2e@127.0.0.1:8765/v1", "'http://***@127.0.0.1:8765/v1'"),
        ("https://alice:pass/9d2e@host.example/v1", "'https://***@host.example/v1'"),  # unescaped / in password
        ("https://alice:pass-9d2e@host.example/v2", "'https://***@host.example/v2'"),  # also the wrong path
    ],
)
def test_base_url_with_credentials_is_refused_without_echoing_them(celigo_conn: Define, url: str, shown: str) -> None:
    message = refusal(celigo_conn("c_url", base_url=url))
    assert "'base_url'" in message and shown in message
    assert "9d2e" not in message and "alice" not in message and "pass" not in message.replace("password", "")
    if "/v2" not in url and "pass/" not in url:
        assert "credentials" in message and "password field" in message


@pytest.mark.parametrize("url", ["http://[::1/v1", "http://127.0.0.1:port/v1", "http://127.0.0.1:99999/v1"])
def test_unparsable_base_url_is_a_config_error(celigo_conn: Define, url: str) -> None:
    message = refusal(celigo_conn("c_url", base_url=url))
    assert "'base_url'" in message and repr(url) in message and "could not be parsed" in message
