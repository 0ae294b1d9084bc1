"""Issue 13's smaller gaps, hook and emulator together over real HTTP: clone answers, PATCH fallback, masked
secrets per type, lookup-cache limits, step-error paging, state deletes and the connection's own concurrency."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError
from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.operators.integrations import CeligoCloneIntegrationOperator
from airflow_provider_celigo.testing import connection_json, running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

SHOPIFY, NETSUITE = DEMO_IDS["conn_shopify"], DEMO_IDS["conn_netsuite"]
ACME_SHOPIFY, ACME_NETSUITE = DEMO_IDS["conn_acme_shopify"], DEMO_IDS["conn_acme_netsuite"]
TEMPLATE, SHOP = DEMO_IDS["integration_template"], DEMO_IDS["integration_shop"]
ACME_MAP = {SHOPIFY: ACME_SHOPIFY, NETSUITE: ACME_NETSUITE}
# The run-time settings these tests change, at their defaults (restored before each test).
DEFAULTS: dict[str, Any] = {
    "clone_answer": "manifest",
    "accept_guessed_patch_paths": True,
    "keep_secret_on_mask_write": True,
    "step_errors_page_size": 1000,
    "step_errors_404_when_empty": False,
    "state_delete_missing_404": True,
    "page_size": 100,
}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with running_emulator(seed="demo", clock_speed=20.0) as started:
        yield started


@pytest.fixture
def emulator(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    server.admin.reset()
    server.admin.seed("demo")
    server.admin.configure(**DEFAULTS)
    monkeypatch.setenv("AIRFLOW_CONN_CELIGO_DEFAULT", connection_json(server, max_retries=2, max_retry_wait=0.1))
    return server


@pytest.fixture
def hook(emulator: EmulatorServer) -> Iterator[CeligoHook]:
    celigo = CeligoHook()
    yield celigo
    celigo.close()


def stored(emulator: EmulatorServer, kind: str, rid: str) -> dict[str, Any]:
    docs = emulator.admin.data()["accounts"]["default"]["resources"][kind]
    return next(doc for doc in docs if doc["_id"] == rid)


def logged(emulator: EmulatorServer, method: str, path_part: str = "") -> list[dict[str, Any]]:
    return [r for r in emulator.admin.requests_log() if r["method"] == method and path_part in r["path"]]


class TaskInstance:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


# -- (a) clone answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["manifest", "document"])
def test_clone_operator_enables_the_flows_whichever_answer(
    hook: CeligoHook, emulator: EmulatorServer, answer: str
) -> None:
    emulator.admin.configure(clone_answer=answer)
    for flow in (DEMO_IDS["flow_onboarding_customers"], DEMO_IDS["flow_onboarding_orders"]):
        hook.set_flow_enabled(flow, False)
    operator = CeligoCloneIntegrationOperator(
        task_id="clone", source_id=TEMPLATE, name=f"Acme {answer}", connection_map=ACME_MAP, enable_flows=True
    )
    ti = TaskInstance()
    result = operator.execute({"ti": ti})  # type: ignore[arg-type,typeddict-item]
    assert len(result["flow_ids"]) == 2 and ti.pushed["flow_ids"] == result["flow_ids"]
    assert [stored(emulator, "flows", f)["disabled"] for f in result["flow_ids"]] == [False, False]
    integration = result["integration_id"]
    assert stored(emulator, "integrations", integration)["name"] == f"Acme {answer}"
    models = sorted(r["model"] for r in result["resources"])
    assert models == ["Export", "Export", "Flow", "Flow", "Import", "Import", "Integration"]
    assert all(stored(emulator, "flows", f)["_integrationId"] == integration for f in result["flow_ids"])


def test_flow_clone_answered_with_the_document(hook: CeligoHook, emulator: EmulatorServer) -> None:
    emulator.admin.configure(clone_answer="document")
    source = DEMO_IDS["flow_orders"]
    result = hook.clone_resource(
        "flows", source, connection_map={SHOPIFY: SHOPIFY, NETSUITE: NETSUITE}, integration_id=SHOP, name="Copy"
    )
    assert result["integration_id"] == SHOP and len(result["flow_ids"]) == 1
    assert result["flow_ids"][0] != source
    assert {r["model"] for r in result["resources"]} == {"Flow", "Export", "Import"}


# -- (b) PATCH: one whitelist, fallback from a refused guess -----------------------------------------------


def test_refused_guessed_patch_falls_back_to_put(hook: CeligoHook, emulator: EmulatorServer) -> None:
    emulator.admin.configure(accept_guessed_patch_paths=False)
    updated = hook.update_resource("integrations", SHOP, {"name": "Shop (renamed)"})
    assert updated["name"] == "Shop (renamed)"
    patches, puts = logged(emulator, "PATCH", SHOP), logged(emulator, "PUT", SHOP)
    assert [r["status"] for r in patches] == [422] and [r["status"] for r in puts] == [200]
    assert stored(emulator, "integrations", SHOP)["name"] == "Shop (renamed)"


def test_guessed_patch_is_used_while_accepted(hook: CeligoHook, emulator: EmulatorServer) -> None:
    hook.update_resource("integrations", SHOP, {"description": "patched"})
    assert len(logged(emulator, "PATCH", SHOP)) == 1 and logged(emulator, "PUT", SHOP) == []


def test_refused_patch_with_strategy_patch_raises(hook: CeligoHook, emulator: EmulatorServer) -> None:
    emulator.admin.configure(accept_guessed_patch_paths=False)
    with pytest.raises(CeligoApiError, match=r"invalid_patch|not patchable"):
        hook.update_resource("integrations", SHOP, {"name": "x"}, strategy="patch")
    assert logged(emulator, "PUT", SHOP) == []


def test_script_debug_until_by_patch(hook: CeligoHook, emulator: EmulatorServer) -> None:
    script = DEMO_IDS["script_normalize"]
    emulator.admin.configure(accept_guessed_patch_paths=False)  # documented: never needs the fallback
    hook.update_resource("scripts", script, {"debugUntil": "2030-01-01T00:00:00.000Z"})
    assert stored(emulator, "scripts", script)["debugUntil"] == "2030-01-01T00:00:00.000Z"
    assert [r["status"] for r in logged(emulator, "PATCH", script)] == [204] and logged(emulator, "PUT") == []


# -- (c) masked secrets per type -------------------------------------------------------------------------


@pytest.mark.parametrize("masked_secrets", ["refuse", "drop"])
def test_iclient_full_update_keeps_its_secrets(hook: CeligoHook, emulator: EmulatorServer, masked_secrets: Any) -> None:
    rid = DEMO_IDS["iclient_shopify"]
    secret = stored(emulator, "iclients", rid)["oauth2"]["clientSecret"]
    hook.update_resource("iclients", rid, {"oauth2": {"scope": ["read_orders"]}}, masked_secrets=masked_secrets)
    doc = stored(emulator, "iclients", rid)
    assert doc["oauth2"]["clientSecret"] == secret and doc["oauth2"]["scope"] == ["read_orders"]
    put = logged(emulator, "PUT", rid)
    assert len(put) == 1 and put[0]["masked_secret_written"] is True  # the documented way to keep it


def test_connection_full_update_never_writes_the_mask(hook: CeligoHook, emulator: EmulatorServer) -> None:
    with pytest.raises(CeligoConfigError, match="netsuite/password"):
        hook.update_resource("connections", NETSUITE, {"netsuite": {"account": "NEW"}})
    hook.update_resource("connections", NETSUITE, {"netsuite": {"account": "NEW"}}, masked_secrets="drop")
    put = logged(emulator, "PUT", NETSUITE)
    assert len(put) == 1 and put[0]["masked_secret_written"] is False
    assert "******" not in str(stored(emulator, "connections", NETSUITE))


# -- (d) lookup caches -----------------------------------------------------------------------------------


def test_lookup_upsert_of_big_and_non_string_values_fits_the_limits(hook: CeligoHook, emulator: EmulatorServer) -> None:
    cache = DEMO_IDS["lookupcache_sku"]
    big = "x" * 1_300_000
    entries = {f"big{i}": big for i in range(8)} | {"object": {"itemId": 7}, "number": 3}
    assert hook.upsert_lookup_cache_entries(cache, entries) == 10
    statuses = [r["status"] for r in logged(emulator, "POST", f"/lookupcaches/{cache}/data")]
    assert statuses == [204, 204, 204]  # 3 + 3 + 2 big ones (+ the small two): each request under 5 MB
    assert hook.get_lookup_cache_entries(cache, ["object", "number"]) == {"object": '{"itemId":7}', "number": "3"}


# -- (i) state deletes -------------------------------------------------------------------------------------


def test_delete_of_a_missing_state_key(hook: CeligoHook, emulator: EmulatorServer) -> None:
    flow = DEMO_IDS["flow_orders"]
    hook.put_state("cursor", 1, resource_type="flows", resource_id=flow)
    assert hook.delete_state("cursor", resource_type="flows", resource_id=flow) is True  # a 200 per DOCS
    assert hook.delete_state("cursor", resource_type="flows", resource_id=flow, missing_ok=True) is False
    with pytest.raises(Exception, match="is not set, so it cannot be deleted") as missing:
        hook.delete_state("cursor", resource_type="flows", resource_id=flow)
    assert getattr(missing.value, "status", None) == 404
    assert hook.delete_state("never", missing_ok=True) is False
    assert [r["status"] for r in logged(emulator, "DELETE", "/state/")] == [200, 404, 404, 404]


# -- (g) the connection's own concurrency ----------------------------------------------------------------


def test_set_connection_concurrency_by_patch_keeps_the_secret(hook: CeligoHook, emulator: EmulatorServer) -> None:
    secret = stored(emulator, "connections", SHOPIFY)["http"]["auth"]["token"]["token"]
    hook.set_connection_concurrency(SHOPIFY, concurrency_level=7, borrow_concurrency_from=NETSUITE)
    doc = stored(emulator, "connections", SHOPIFY)
    assert doc["http"]["concurrencyLevel"] == 7 and doc["_borrowConcurrencyFromConnectionId"] == NETSUITE
    assert doc["http"]["auth"]["token"]["token"] == secret
    assert logged(emulator, "PUT") == [] and len(logged(emulator, "PATCH", SHOPIFY)) == 1
    hook.set_connection_concurrency(SHOPIFY, borrow_concurrency_from=False)
    assert "_borrowConcurrencyFromConnectionId" not in stored(emulator, "connections", SHOPIFY)


def test_set_connection_concurrency_falls_back_to_put_with_the_secrets(
    hook: CeligoHook, emulator: EmulatorServer
) -> None:
    emulator.admin.configure(accept_guessed_patch_paths=False)
    with pytest.raises(CeligoConfigError, match="http/auth/token/token"):
        hook.set_connection_concurrency(SHOPIFY, concurrency_level=4)
    assert logged(emulator, "PUT") == []
    secret = {"http": {"auth": {"token": {"token": "shpat_new"}}}}
    hook.set_connection_concurrency(SHOPIFY, concurrency_level=4, secrets=secret)
    doc = stored(emulator, "connections", SHOPIFY)
    assert doc["http"]["concurrencyLevel"] == 4 and doc["http"]["auth"]["token"]["token"] == "shpat_new"
    assert [r["masked_secret_written"] for r in logged(emulator, "PUT", SHOPIFY)] == [False]


def test_set_connection_concurrency_operator(
    hook: CeligoHook, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_celigo.operators.resources import CeligoSetConnectionConcurrencyOperator

    emulator.admin.configure(accept_guessed_patch_paths=False)
    monkeypatch.setenv("AIRFLOW_VAR_SHOPIFY_SECRETS", '{"http": {"auth": {"token": {"token": "from-variable"}}}}')
    operator = CeligoSetConnectionConcurrencyOperator(
        task_id="level", connection_id=SHOPIFY, concurrency_level="9", secrets_variable="shopify_secrets"
    )
    result = operator.execute({"ti": TaskInstance()})  # type: ignore[arg-type,typeddict-item]
    assert result["http"]["concurrencyLevel"] == 9 and result["http"]["auth"]["token"]["token"] == "******"
    assert stored(emulator, "connections", SHOPIFY)["http"]["auth"]["token"]["token"] == "from-variable"


# -- step errors: pages with nextPageURL, and a 404 that means "no error store" -----------------------------


def run_to_end(hook: CeligoHook, flow_id: str) -> None:
    job_id = hook.run_flow(flow_id)
    hook.wait_for_job(job_id, poll_interval=0.1, timeout=60)


def test_step_errors_are_read_across_next_page_urls(hook: CeligoHook, emulator: EmulatorServer) -> None:
    flow, step = DEMO_IDS["flow_invoices"], DEMO_IDS["import_invoices"]
    run_to_end(hook, flow)
    emulator.admin.configure(step_errors_page_size=1)
    errors = hook.get_step_errors(flow, step)
    assert len(errors) == 3 and len({error["errorId"] for error in errors}) == 3
    pages = [r for r in emulator.admin.requests_log() if r["path"] == f"/v1/flows/{flow}/{step}/errors"]
    assert len(pages) == 3  # one request per page: the first, then two nextPageURL cursors


def test_a_step_without_an_error_store_has_no_errors(hook: CeligoHook, emulator: EmulatorServer) -> None:
    emulator.admin.configure(step_errors_404_when_empty=True)
    assert hook.get_step_errors(DEMO_IDS["flow_orders"], DEMO_IDS["import_orders"]) == []
    with pytest.raises(CeligoApiError) as refused:  # a step the flow does not hold stays an error
        hook.get_step_errors(DEMO_IDS["flow_orders"], DEMO_IDS["import_invoices"])
    assert refused.value.status == 404
