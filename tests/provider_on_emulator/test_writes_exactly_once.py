"""A write whose answer is lost after integrator.io carried it out is resolved by looking, never done twice.

(The emulator deletes a missing state key with 204, so the state-delete case here shows the look works over
HTTP; ``tests/unit/hooks/test_request_targets.py`` checks it against a 404 too.)

Over real HTTP against the emulator: ``share_500_after`` / ``share_drop_after`` run the handler and lose the
answer; ``share_500`` / ``share_503`` / ``share_drop`` refuse the request before the handler. Either way the
write happens exactly once and the call returns what it did.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_celigo.exceptions import CeligoWriteUnclearError
from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.testing import connection_json, running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

SHOPIFY, NETSUITE = DEMO_IDS["conn_shopify"], DEMO_IDS["conn_netsuite"]
ACME_SHOPIFY, ACME_NETSUITE = DEMO_IDS["conn_acme_shopify"], DEMO_IDS["conn_acme_netsuite"]
TEMPLATE, SHOP = DEMO_IDS["integration_template"], DEMO_IDS["integration_shop"]
EXPORT_BODY = {"adaptorType": "HTTPExport", "_connectionId": SHOPIFY}
AFTER = ["share_500_after", "share_drop_after"]
BEFORE = ["share_500", "share_503", "share_drop"]


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with running_emulator(seed="demo", clock_speed=20.0) as started:
        yield started


@pytest.fixture
def emulator(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    server.admin.reset()
    server.admin.seed("demo")
    server.admin.set_faults({})
    monkeypatch.setenv("AIRFLOW_CONN_CELIGO_DEFAULT", connection_json(server, max_retries=3, max_retry_wait=0.1))
    return server


@pytest.fixture
def hook(emulator: EmulatorServer) -> Iterator[CeligoHook]:
    celigo = CeligoHook()
    yield celigo
    celigo.close()


def fault(emulator: EmulatorServer, method: str, path: str, kind: str, limit: int = 1) -> None:
    emulator.admin.set_faults({"routes": [{"method": method, "path": path, kind: 1.0, "limit": limit}]})


def injected(emulator: EmulatorServer) -> int:
    return sum(emulator.admin.faults()["counters"].values())


def docs(emulator: EmulatorServer, kind: str) -> list[dict[str, Any]]:
    return list(emulator.admin.data()["accounts"]["default"]["resources"][kind])


def named(emulator: EmulatorServer, kind: str, name: str) -> list[dict[str, Any]]:
    return [doc for doc in docs(emulator, kind) if doc.get("name") == name]


def sent(emulator: EmulatorServer, method: str, path: str) -> int:
    return len([r for r in emulator.admin.requests_log() if r["method"] == method and r["path"] == path])


# -- create ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", AFTER)
def test_lost_create_answer_returns_the_resource_it_made(
    hook: CeligoHook, emulator: EmulatorServer, capfd: pytest.CaptureFixture[str], kind: str
) -> None:
    fault(emulator, "POST", "^/v1/exports$", kind)
    created = hook.create_resource("exports", {"name": "orders feed", **EXPORT_BODY})
    [stored] = named(emulator, "exports", "orders feed")
    assert created["_id"] == stored["_id"]
    assert injected(emulator) == 1 and sent(emulator, "POST", "/v1/exports") == 1
    logged = capfd.readouterr()
    assert "The answer to POST /v1/exports was lost" in logged.out + logged.err
    assert f"found an export named 'orders feed' ({stored['_id']}); not sending it again" in logged.out + logged.err


@pytest.mark.parametrize("kind", BEFORE)
def test_create_refused_before_the_handler_is_sent_again_and_made_once(
    hook: CeligoHook, emulator: EmulatorServer, kind: str
) -> None:
    fault(emulator, "POST", "^/v1/exports$", kind)
    created = hook.create_resource("exports", {"name": "orders feed", **EXPORT_BODY})
    [stored] = named(emulator, "exports", "orders feed")
    assert created["_id"] == stored["_id"]
    assert injected(emulator) == 1 and sent(emulator, "POST", "/v1/exports") == 2


def test_lost_answer_with_if_exists_create_tells_the_new_one_from_the_old(
    hook: CeligoHook, emulator: EmulatorServer
) -> None:
    old = hook.create_resource("exports", {"name": "twin", **EXPORT_BODY})
    fault(emulator, "POST", "^/v1/exports$", "share_500_after")
    new = hook.create_resource("exports", {"name": "twin", **EXPORT_BODY}, if_exists="create")
    assert new["_id"] != old["_id"]
    assert {doc["_id"] for doc in named(emulator, "exports", "twin")} == {old["_id"], new["_id"]}


def test_lost_answer_of_a_nameless_create_is_not_sent_again(hook: CeligoHook, emulator: EmulatorServer) -> None:
    before = len(docs(emulator, "exports"))
    fault(emulator, "POST", "^/v1/exports$", "share_drop_after")
    with pytest.raises(CeligoWriteUnclearError) as caught:
        hook.create_resource("exports", EXPORT_BODY)
    message = str(caught.value)
    assert "may have happened" in message and "GET /v1/exports" in message and "no name" in message
    assert len(docs(emulator, "exports")) == before + 1  # it was created once, and not again
    assert sent(emulator, "POST", "/v1/exports") == 1


def test_nameless_create_refused_before_the_handler_is_sent_again(hook: CeligoHook, emulator: EmulatorServer) -> None:
    before = len(docs(emulator, "exports"))
    fault(emulator, "POST", "^/v1/exports$", "share_503")
    hook.create_resource("exports", EXPORT_BODY)
    assert len(docs(emulator, "exports")) == before + 1


# -- clone -----------------------------------------------------------------------------------------------

CLONE_PATH = f"^/v1/integrations/{TEMPLATE}/clone$"
MAPPING = {SHOPIFY: ACME_SHOPIFY, NETSUITE: ACME_NETSUITE}


def clone_integration(hook: CeligoHook, name: str | None = "Acme onboarding") -> dict[str, Any]:
    return hook.clone_resource("integrations", TEMPLATE, name=name, connection_map=MAPPING)


@pytest.mark.parametrize("kind", AFTER)
def test_lost_clone_answer_returns_the_one_clone(hook: CeligoHook, emulator: EmulatorServer, kind: str) -> None:
    fault(emulator, "POST", CLONE_PATH, kind)
    result = clone_integration(hook)
    [integration] = named(emulator, "integrations", "Acme onboarding")
    assert result["integration_id"] == integration["_id"]
    flows = [f for f in docs(emulator, "flows") if f.get("_integrationId") == integration["_id"]]
    assert sorted(result["flow_ids"]) == sorted(f["_id"] for f in flows) and len(flows) == 2
    models = [item["model"] for item in result["resources"]]
    assert models[:3] == ["Integration", "Flow", "Flow"] and {"Export", "Import"} <= set(models)
    assert all(item["_id"] for item in result["resources"])
    assert injected(emulator) == 1


@pytest.mark.parametrize("kind", BEFORE)
def test_clone_refused_before_the_handler_is_sent_again_and_made_once(
    hook: CeligoHook, emulator: EmulatorServer, kind: str
) -> None:
    fault(emulator, "POST", CLONE_PATH, kind)
    result = clone_integration(hook)
    [integration] = named(emulator, "integrations", "Acme onboarding")
    assert result["integration_id"] == integration["_id"] and len(result["flow_ids"]) == 2


def test_lost_flow_clone_answer_looks_in_the_target_integration(hook: CeligoHook, emulator: EmulatorServer) -> None:
    source = DEMO_IDS["flow_onboarding_orders"]
    fault(emulator, "POST", f"^/v1/flows/{source}/clone$", "share_500_after")
    result = hook.clone_resource(
        "flows", source, connection_map={SHOPIFY: SHOPIFY, NETSUITE: NETSUITE}, integration_id=SHOP, name="Orders 2"
    )
    [flow] = named(emulator, "flows", "Orders 2")
    assert result == {"integration_id": SHOP, "resources": result["resources"], "flow_ids": [flow["_id"]]}
    assert result["resources"][0] == {"model": "Flow", "_id": flow["_id"], "name": "Orders 2"}


def test_lost_answer_of_a_nameless_clone_is_not_sent_again(hook: CeligoHook, emulator: EmulatorServer) -> None:
    before = len(docs(emulator, "integrations"))
    fault(emulator, "POST", CLONE_PATH, "share_500_after")
    with pytest.raises(CeligoWriteUnclearError, match="may have happened"):
        clone_integration(hook, name=None)
    assert len(docs(emulator, "integrations")) == before + 1
    assert sent(emulator, "POST", f"/v1/integrations/{TEMPLATE}/clone") == 1


# -- delete, restore -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [*AFTER, *BEFORE])
def test_delete_whose_answer_was_lost_succeeds(hook: CeligoHook, emulator: EmulatorServer, kind: str) -> None:
    export = hook.create_resource("exports", {"name": "doomed", **EXPORT_BODY})["_id"]
    fault(emulator, "DELETE", f"^/v1/exports/{export}$", kind)
    assert hook.delete_resource("exports", export) is True
    assert named(emulator, "exports", "doomed") == []
    assert injected(emulator) == 1


@pytest.mark.parametrize("kind", AFTER)
def test_state_delete_whose_answer_was_lost_succeeds(hook: CeligoHook, emulator: EmulatorServer, kind: str) -> None:
    hook.put_state("cursor", 7)
    fault(emulator, "DELETE", "^/v1/state/cursor$", kind)
    assert hook.delete_state("cursor") is True
    assert hook.get_state("cursor", missing_ok=True) is None


@pytest.mark.parametrize("kind", AFTER)
def test_restore_whose_answer_was_lost_succeeds(hook: CeligoHook, emulator: EmulatorServer, kind: str) -> None:
    hook.delete_resource("integrations", TEMPLATE)
    fault(emulator, "POST", "/doCascadeRestore$", kind)
    restored = hook.restore_resource("integrations", TEMPLATE)
    assert restored[0]["_id"] == TEMPLATE
    assert hook.get_resource("integrations", TEMPLATE)["_id"] == TEMPLATE


# -- retrying step errors --------------------------------------------------------------------------------


def run_and_wait(hook: CeligoHook, flow_id: str) -> None:
    job_id = hook.run_flow(flow_id)
    deadline = time.monotonic() + 30
    while hook.get_job(job_id)["status"] not in ("completed", "failed", "canceled"):
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.1)


def retry_jobs(emulator: EmulatorServer) -> list[str]:
    return [job["_id"] for job in emulator.admin.jobs() if job.get("type") == "retry"]


@pytest.mark.parametrize("kind", [*AFTER, "share_503"])
def test_lost_retry_answer_adopts_the_retry_job(hook: CeligoHook, emulator: EmulatorServer, kind: str) -> None:
    flow = DEMO_IDS["flow_invoices"]
    run_and_wait(hook, flow)
    step = str(hook.request("GET", f"/flows/{flow}/errors")["flowErrors"][0]["_expOrImpId"])
    keys = [e["retryDataKey"] for e in hook.get_step_errors(flow, step)]
    fault(emulator, "POST", "/retry$", kind)
    job_ids = hook.retry_step_errors(flow, step, keys)
    assert retry_jobs(emulator) == job_ids and len(job_ids) == 1
    assert injected(emulator) == 1


# -- a JSON Patch that acts differently when repeated ------------------------------------------------------


@pytest.mark.parametrize("kind", AFTER)
def test_lost_patch_remove_answer_is_resolved_by_reading(hook: CeligoHook, emulator: EmulatorServer, kind: str) -> None:
    flow = DEMO_IDS["flow_orders"]
    hook.patch_resource("flows", flow, [{"op": "add", "path": "/schedule", "value": "? */5 * * * *"}])
    fault(emulator, "PATCH", f"/v1/flows/{flow}", kind)
    hook.patch_resource("flows", flow, [{"op": "remove", "path": "/schedule"}])  # a blind resend would get 422
    assert injected(emulator) == 1
    assert sent(emulator, "PATCH", f"/v1/flows/{flow}") == 2  # the add, then the remove once
    assert "schedule" not in hook.get_resource("flows", flow)


def test_lost_patch_remove_answer_before_the_handler_is_sent_again(hook: CeligoHook, emulator: EmulatorServer) -> None:
    flow = DEMO_IDS["flow_orders"]
    hook.patch_resource("flows", flow, [{"op": "add", "path": "/schedule", "value": "? */5 * * * *"}])
    fault(emulator, "PATCH", f"/v1/flows/{flow}", "share_500")
    hook.patch_resource("flows", flow, [{"op": "remove", "path": "/schedule"}])
    assert "schedule" not in hook.get_resource("flows", flow)
