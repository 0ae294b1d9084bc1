"""The resource, clone, state, lookup-cache, ping, error and recycle-bin methods against the local emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_celigo._documents import deep_merge
from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, CeligoError
from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.operators.integrations import CeligoCloneIntegrationOperator
from airflow_provider_celigo.operators.resources import CeligoPingConnectionOperator
from airflow_provider_celigo.resource_types import MASKED_VALUE, ResourceType, is_patchable_path
from airflow_provider_celigo.testing import connection_json, running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

SHOPIFY, NETSUITE = DEMO_IDS["conn_shopify"], DEMO_IDS["conn_netsuite"]
ACME_SHOPIFY, ACME_NETSUITE = DEMO_IDS["conn_acme_shopify"], DEMO_IDS["conn_acme_netsuite"]
TEMPLATE = DEMO_IDS["integration_template"]
SHOP = DEMO_IDS["integration_shop"]

# The smallest body the emulator accepts for each type; "notes" is a field no whitelist lets PATCH change.
BODIES: dict[ResourceType, dict[str, Any]] = {
    ResourceType.CONNECTIONS: {
        "type": "http",
        "http": {"baseURI": "https://example.com", "auth": {"type": "token", "token": {"token": "s3cret"}}},
    },
    ResourceType.EXPORTS: {"adaptorType": "HTTPExport", "_connectionId": SHOPIFY},
    ResourceType.IMPORTS: {"adaptorType": "HTTPImport", "_connectionId": NETSUITE},
    ResourceType.FLOWS: {"disabled": True, "_integrationId": SHOP},
    ResourceType.INTEGRATIONS: {},
    ResourceType.SCRIPTS: {"content": "function preSavePage(options) { return options }"},
    ResourceType.LOOKUPCACHES: {},
    ResourceType.AGENTS: {},
    ResourceType.ICLIENTS: {"provider": "custom", "oauth2": {"clientId": "id", "clientSecret": "client-s3cret"}},
    ResourceType.STACKS: {"type": "server", "server": {"hostURI": "https://stack.example.com"}},
    ResourceType.APIS: {"version": "1"},
    ResourceType.ACCESSTOKENS: {"token": "0123456789abcdef"},
    ResourceType.TAGS: {"tag": "airflow"},
}
# The secrets in BODIES, which integrator.io only ever shows masked: a full update must carry them again.
SECRETS: dict[ResourceType, dict[str, Any]] = {
    ResourceType.CONNECTIONS: {"http": {"auth": {"token": {"token": "s3cret"}}}},
    ResourceType.ICLIENTS: {"oauth2": {"clientSecret": "client-s3cret"}},
    ResourceType.ACCESSTOKENS: {"token": "0123456789abcdef"},
}


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with running_emulator(seed="demo", clock_speed=20.0, page_size=2) as started:
        yield started


@pytest.fixture
def emulator(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    server.admin.reset()
    server.admin.seed("demo")
    server.admin.configure(page_size=2)
    monkeypatch.setenv("AIRFLOW_CONN_CELIGO_DEFAULT", connection_json(server))
    return server


@pytest.fixture
def hook(emulator: EmulatorServer) -> Iterator[CeligoHook]:
    celigo = CeligoHook()
    yield celigo
    celigo.close()


def account(emulator: EmulatorServer) -> dict[str, Any]:
    return emulator.admin.data()["accounts"]["default"]


def stored(emulator: EmulatorServer, kind: ResourceType | str, rid: str) -> dict[str, Any] | None:
    docs = account(emulator)["resources"][str(kind)]
    return next((doc for doc in docs if doc["_id"] == rid), None)


def counts(emulator: EmulatorServer) -> dict[str, int]:
    return {kind: len(docs) for kind, docs in account(emulator)["resources"].items()}


def logged(emulator: EmulatorServer, method: str, path_part: str = "") -> list[dict[str, Any]]:
    return [r for r in emulator.admin.requests_log() if r["method"] == method and path_part in r["path"]]


# -- every resource type ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ResourceType), ids=str)
def test_resource_lifecycle(hook: CeligoHook, emulator: EmulatorServer, kind: ResourceType) -> None:
    name = f"airflow {kind.value}"
    body = {"name": name, "description": "keep me", **BODIES[kind]}
    before = len(hook.list_resources(kind))

    created = hook.create_resource(kind, body)
    rid = created["_id"]
    assert hook.get_resource(kind, rid)["name"] == name
    with pytest.raises(CeligoConfigError, match="already exists"):
        hook.create_resource(kind, body)
    assert hook.create_resource(kind, body, if_exists="return")["_id"] == rid
    for index in range(3):
        hook.create_resource(kind, {**body, "name": f"{name} {index}"})

    listed = hook.list_resources(kind)
    assert len(listed) == before + 4 and len({doc["_id"] for doc in listed}) == len(listed)
    pages = [r for r in logged(emulator, "GET", f"/v1/{kind.value}") if "after=" in r["query"]]
    assert len(pages) >= 2, "the list should have spanned several pages of 2"

    # A field PATCH cannot reach: read, merge, full PUT; the secrets are given again since only masks come back.
    hook.update_resource(kind, rid, deep_merge({"notes": {"owner": "airflow"}}, SECRETS.get(kind, {})))
    # The name: a JSON Patch where the type allows one.
    hook.update_resource(kind, rid, deep_merge({"name": f"{name} renamed"}, SECRETS.get(kind, {})))
    doc = stored(emulator, kind, rid)
    assert doc is not None
    assert (doc["name"], doc["notes"], doc["description"]) == (f"{name} renamed", {"owner": "airflow"}, "keep me")
    for key, value in BODIES[kind].items():
        assert doc[key] == value, f"{key} did not survive the updates"
    assert MASKED_VALUE not in str(doc)
    assert not [r for r in emulator.admin.requests_log() if r["masked_secret_written"]]
    assert len(logged(emulator, "PATCH", rid)) == (1 if is_patchable_path(kind, "/name") else 0)

    assert hook.delete_resource(kind, rid) is True
    with pytest.raises(CeligoApiError) as missing:
        hook.get_resource(kind, rid)
    assert missing.value.status == 404
    assert hook.delete_resource(kind, rid, missing_ok=True) is False
    with pytest.raises(CeligoApiError, match="cannot be deleted") as again:
        hook.delete_resource(kind, rid)
    assert again.value.status == 404
    with pytest.raises(CeligoApiError, match="cannot be updated"):
        hook.update_resource(kind, rid, {"name": "ghost"})
    assert rid in [entry["doc"]["_id"] for entry in account(emulator)["recycleBin"]]


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        (ResourceType.CONNECTIONS, {"name": "no type"}, "type is required"),
        (ResourceType.INTEGRATIONS, {"description": "no name"}, "name is required"),
        (ResourceType.TAGS, {"name": "no tag"}, "tag is required"),
        (ResourceType.EXPORTS, {"name": "bad ref", "_connectionId": "f" * 24}, "not found"),
        (ResourceType.FLOWS, {"name": "bad flag", "disabled": "yes"}, "disabled must be a boolean"),
    ],
)
def test_a_422_carries_integrator_io_message(
    hook: CeligoHook, emulator: EmulatorServer, kind: ResourceType, body: dict[str, Any], message: str
) -> None:
    before = counts(emulator)
    with pytest.raises(CeligoApiError, match=message) as refused:
        hook.create_resource(kind, body)
    assert refused.value.status == 422
    assert counts(emulator) == before


def test_update_that_needs_a_put_refuses_to_lose_a_masked_secret(hook: CeligoHook, emulator: EmulatorServer) -> None:
    with pytest.raises(CeligoConfigError, match="/http/auth/token/token"):
        hook.update_resource("connections", SHOPIFY, {"http": {"baseURI": "https://new.example.com"}})
    assert logged(emulator, "PUT") == []
    assert stored(emulator, "connections", SHOPIFY)["http"]["baseURI"].startswith("https://demo-shop")  # type: ignore[index]


def test_patchable_change_keeps_the_secret(hook: CeligoHook, emulator: EmulatorServer) -> None:
    hook.update_resource("connections", SHOPIFY, {"name": "Shopify (renamed)", "debugDate": None})
    doc = stored(emulator, "connections", SHOPIFY)
    assert doc is not None and doc["name"] == "Shopify (renamed)"
    assert doc["http"]["auth"]["token"]["token"] == "shpat_demo_secret_1"
    assert logged(emulator, "PUT") == [] and len(logged(emulator, "PATCH")) == 1
    assert not [r for r in emulator.admin.requests_log() if r["masked_secret_written"]]


def test_put_with_the_secret_supplied_keeps_other_fields(hook: CeligoHook, emulator: EmulatorServer) -> None:
    hook.update_resource("connections", NETSUITE, {"netsuite": {"account": "NEW123", "password": "new-pass"}})
    doc = stored(emulator, "connections", NETSUITE)
    assert doc is not None
    assert doc["netsuite"] == {
        "account": "NEW123",
        "email": "ops@example.com",
        "password": "new-pass",
        "concurrencyLevel": 3,
    }
    assert doc["name"] == "NetSuite"
    put = logged(emulator, "PUT", NETSUITE)
    assert len(put) == 1 and put[0]["masked_secret_written"] is False


def test_drop_sends_no_mask_but_a_full_replace_erases_the_secret(hook: CeligoHook, emulator: EmulatorServer) -> None:
    hook.update_resource("connections", NETSUITE, {"netsuite": {"account": "NEW123"}}, masked_secrets="drop")
    put = logged(emulator, "PUT", NETSUITE)
    assert len(put) == 1 and put[0]["masked_secret_written"] is False
    doc = stored(emulator, "connections", NETSUITE)
    assert doc is not None and doc["netsuite"]["account"] == "NEW123"
    assert "password" not in doc["netsuite"]  # why "refuse" is the default


# -- clone -----------------------------------------------------------------------------------------------


def test_clone_without_a_mapping_creates_nothing(hook: CeligoHook, emulator: EmulatorServer) -> None:
    before = counts(emulator)
    with pytest.raises(CeligoConfigError, match=f"{NETSUITE} \\('NetSuite'\\)") as refused:
        hook.clone_resource("integrations", TEMPLATE, connection_map={SHOPIFY: ACME_SHOPIFY})
    assert SHOPIFY not in str(refused.value).split("uses:")[1]
    assert logged(emulator, "POST", "/clone") == []
    assert counts(emulator) == before


def test_clone_integration_remaps_every_connection(hook: CeligoHook, emulator: EmulatorServer) -> None:
    result = hook.clone_resource(
        "integrations",
        TEMPLATE,
        name="Acme onboarding",
        connection_map={SHOPIFY: ACME_SHOPIFY, NETSUITE: ACME_NETSUITE},
        tag="acme",
    )
    new_integration = stored(emulator, "integrations", result["integration_id"])
    assert new_integration is not None and new_integration["name"] == "Acme onboarding"
    assert new_integration["_registeredConnectionIds"] == [ACME_SHOPIFY, ACME_NETSUITE]
    assert len(result["flow_ids"]) == 2
    used = set()
    for flow_id in result["flow_ids"]:
        flow = stored(emulator, "flows", flow_id)
        assert flow is not None and flow["_integrationId"] == result["integration_id"]
        for generator in flow["pageGenerators"]:
            used.add(stored(emulator, "exports", generator["_exportId"])["_connectionId"])  # type: ignore[index]
        for processor in flow["pageProcessors"]:
            used.add(stored(emulator, "imports", processor["_importId"])["_connectionId"])  # type: ignore[index]
    assert used == {ACME_SHOPIFY, ACME_NETSUITE}
    template_export = stored(emulator, "exports", DEMO_IDS["export_onboarding_customers"])
    assert template_export is not None and template_export["_connectionId"] == SHOPIFY


def test_clone_flow_into_an_integration(hook: CeligoHook, emulator: EmulatorServer) -> None:
    source = DEMO_IDS["flow_onboarding_orders"]
    result = hook.clone_resource(
        "flows", source, connection_map={SHOPIFY: SHOPIFY, NETSUITE: NETSUITE}, integration_id=SHOP, name="Orders 2"
    )
    assert result["integration_id"] == SHOP and len(result["flow_ids"]) == 1
    assert stored(emulator, "flows", result["flow_ids"][0])["_integrationId"] == SHOP  # type: ignore[index]


def test_clone_operator_enables_the_cloned_flows(hook: CeligoHook, emulator: EmulatorServer) -> None:
    hook.set_flow_enabled(DEMO_IDS["flow_onboarding_customers"], False)
    operator = CeligoCloneIntegrationOperator(
        task_id="clone",
        source_id=TEMPLATE,
        connection_map={SHOPIFY: ACME_SHOPIFY, NETSUITE: ACME_NETSUITE},
        enable_flows=True,
    )

    class TaskInstance:
        def __init__(self) -> None:
            self.pushed: dict[str, Any] = {}

        def xcom_push(self, key: str, value: Any) -> None:
            self.pushed[key] = value

    ti = TaskInstance()
    result = operator.execute({"ti": ti})  # type: ignore[arg-type]
    assert ti.pushed["flow_ids"] == result["flow_ids"]
    assert [stored(emulator, "flows", f)["disabled"] for f in result["flow_ids"]] == [False, False]  # type: ignore[index]


# -- state, lookup caches --------------------------------------------------------------------------------


def test_state_global_and_per_resource(hook: CeligoHook) -> None:
    hook.put_state("last sync", {"at": "2024-05-01"})
    hook.put_state("last sync", {"at": "2024-05-02"})
    assert hook.get_state("last sync") == {"at": "2024-05-02"}
    assert "last sync" in hook.list_state_keys()
    flow = DEMO_IDS["flow_orders"]
    hook.put_state("cursor", 42, resource_type="flows", resource_id=flow)
    assert hook.get_state("cursor", resource_type="Flow", resource_id=flow) == 42
    assert hook.list_state_keys(resource_type="flows", resource_id=flow) == ["cursor"]
    assert hook.delete_state("cursor", resource_type="flows", resource_id=flow) is True
    assert hook.get_state("cursor", resource_type="flows", resource_id=flow, missing_ok=True) is None
    with pytest.raises(CeligoApiError, match="is not set"):
        hook.get_state("cursor", resource_type="flows", resource_id=flow)


def test_lookup_cache_entries_in_batches(hook: CeligoHook, emulator: EmulatorServer) -> None:
    cache = DEMO_IDS["lookupcache_sku"]
    entries = [{"key": f"SKU-{i}", "value": {"itemId": i}} for i in range(2100)]
    assert hook.upsert_lookup_cache_entries(cache, entries) == 2100
    assert len(logged(emulator, "POST", f"/lookupcaches/{cache}/data")) == 3
    assert len(account(emulator)["lookupData"][cache]) == 2100  # SKU-1 from the seed was overwritten
    found = hook.get_lookup_cache_entries(cache, [f"SKU-{i}" for i in range(1500)] + ["absent"])
    assert len(found) == 1500 and found["SKU-1499"] == '{"itemId":1499}'  # stored JSON-encoded, as a string
    assert hook.delete_lookup_cache_entries(cache, [f"SKU-{i}" for i in range(1200)]) == 1200
    assert len(account(emulator)["lookupData"][cache]) == 900
    hook.upsert_lookup_cache_entries(cache, {"mapped": 1})
    assert hook.get_lookup_cache_entries(cache, "mapped") == {"mapped": "1"}


# -- ping, errors, recycle bin ---------------------------------------------------------------------------


def test_ping_online_and_offline(hook: CeligoHook) -> None:
    assert hook.ping_connection(SHOPIFY)["ok"] is True
    offline = hook.ping_connection(DEMO_IDS["conn_legacy_ftp"])
    assert (offline["ok"], offline["offline"]) == (False, True)
    assert "offline" in offline["reason"]
    with pytest.raises(CeligoError, match="'Legacy FTP'"):
        CeligoPingConnectionOperator(task_id="ping", connection_id=DEMO_IDS["conn_legacy_ftp"]).execute({})  # type: ignore[arg-type]


def run_and_wait(hook: CeligoHook, flow_id: str, deadline_seconds: float = 30.0) -> dict[str, Any]:
    job_id = hook.run_flow(flow_id)
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        job = hook.get_job(job_id)
        if job["status"] in ("completed", "failed", "canceled"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


def erroring_step(hook: CeligoHook, flow_id: str) -> str:
    summary = hook.request("GET", f"/flows/{flow_id}/errors")
    return str(summary["flowErrors"][0]["_expOrImpId"])


def test_resolve_every_open_error_of_a_step(hook: CeligoHook) -> None:
    flow = DEMO_IDS["flow_invoices"]
    assert run_and_wait(hook, flow)["status"] == "completed"
    step = erroring_step(hook, flow)
    assert len(hook.get_step_errors(flow, step)) == 3
    assert hook.resolve_step_errors(flow, step) == 3
    assert hook.get_step_errors(flow, step) == []


def test_retry_errors_starts_a_retry_job(hook: CeligoHook, emulator: EmulatorServer) -> None:
    flow = DEMO_IDS["flow_invoices"]
    run_and_wait(hook, flow)
    step = erroring_step(hook, flow)
    keys = [e["retryDataKey"] for e in hook.get_step_errors(flow, step)]
    job_ids = hook.retry_step_errors(flow, step, keys[:2])
    assert len(job_ids) == 1
    assert job_ids[0] in [job["_id"] for job in emulator.admin.jobs()]


def test_restore_brings_back_an_integration_with_its_flows(hook: CeligoHook, emulator: EmulatorServer) -> None:
    flows = [f["_id"] for f in hook.list_resources("flows", integration_id=TEMPLATE)]
    hook.delete_resource("integrations", TEMPLATE)
    assert stored(emulator, "integrations", TEMPLATE) is None
    assert {e["doc"]["_id"] for e in hook.list_recycle_bin()} >= {TEMPLATE, *flows}
    restored = hook.restore_resource("integrations", TEMPLATE)
    assert {item["_id"] for item in restored} == {TEMPLATE, *flows}
    assert all(stored(emulator, "flows", f) is not None for f in flows)
    with pytest.raises(CeligoApiError, match="not in the recycle bin"):
        hook.restore_resource("integrations", TEMPLATE)


def test_boolean_filters_are_sent_as_integrator_io_spells_them(hook: CeligoHook, emulator: EmulatorServer) -> None:
    enabled = hook.list_resources("flows", {"disabled": False}, integration_id=SHOP)
    queries = [entry["query"] for entry in emulator.admin.requests_log() if entry["path"].endswith("/flows")]
    assert queries and queries[0] == "disabled=false"
    disabled = hook.list_resources("flows", {"disabled": True}, integration_id=SHOP)
    assert [flow["_id"] for flow in disabled] == [DEMO_IDS["flow_legacy_ftp"]]
    assert len(enabled) == 5 and DEMO_IDS["flow_legacy_ftp"] not in {flow["_id"] for flow in enabled}
