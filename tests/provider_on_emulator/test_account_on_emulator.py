"""The account hook methods and operators against the local emulator over real HTTP: audit log (paging, filters,
export), integration settings, registered connections, users and tokens."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, CeligoNotFoundError
from airflow_provider_celigo.hooks.celigo import CeligoHook
from airflow_provider_celigo.operators.account import (
    CeligoInviteUserOperator,
    CeligoListUsersOperator,
    CeligoPersistIntegrationAppSettingsOperator,
    CeligoRegisterConnectionsOperator,
    CeligoRemoveUserOperator,
    CeligoTokenOperator,
    CeligoUpdateIntegrationSettingsOperator,
    CeligoUpdateUserOperator,
)
from airflow_provider_celigo.operators.audit import CeligoExportAuditLogOperator
from airflow_provider_celigo.testing import connection_json, running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

TEMPLATE = DEMO_IDS["integration_template"]
ACME_SHOPIFY, ACME_NETSUITE = DEMO_IDS["conn_acme_shopify"], DEMO_IDS["conn_acme_netsuite"]
APP = "6650a00000000000000000a1"
START = 1_780_000_000.0  # 2026-05-28T20:26:40Z


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with running_emulator(seed="demo", clock_speed=20.0, page_size=4) as started:
        yield started


@pytest.fixture
def emulator(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    server.admin.reset()
    server.admin.seed("demo")
    server.admin.configure(page_size=4)
    monkeypatch.setenv("AIRFLOW_CONN_CELIGO_DEFAULT", connection_json(server, max_retries=0))
    return server


@pytest.fixture
def hook(emulator: EmulatorServer) -> Iterator[CeligoHook]:
    celigo = CeligoHook()
    yield celigo
    celigo.close()


def seed_audit(emulator: EmulatorServer, count: int, **body: Any) -> None:
    body = {"count": count, "start": START, "step_seconds": 60.0, **body}
    requests.post(f"{emulator.admin.root_url}/_emulator/audit", json=body, timeout=30).raise_for_status()


def moment(minutes: float) -> datetime:
    return datetime.fromtimestamp(START, tz=timezone.utc) + timedelta(minutes=minutes)


def audit_calls(emulator: EmulatorServer) -> int:
    return sum(1 for r in emulator.admin.requests_log() if r["method"] == "GET" and r["path"].startswith("/v1/audit"))


# -- audit log -------------------------------------------------------------------------------------------------


def test_iter_audit_log_pages_and_filters(hook: CeligoHook, emulator: EmulatorServer) -> None:
    seed_audit(emulator, 10, resource_ids=[DEMO_IDS["flow_orders"]])
    seed_audit(emulator, 5, resource_type="export", start=START + 3600)
    everything = list(hook.iter_audit_log())
    assert len(everything) == 15 and audit_calls(emulator) == 4  # page size 4
    assert [e["time"] for e in everything] == sorted((e["time"] for e in everything), reverse=True)
    flows = list(hook.iter_audit_log(resource_type="flows", since=moment(2), until=moment(4)))
    assert [e["time"][11:16] for e in flows] == ["20:30", "20:29", "20:28"]  # inclusive server window
    assert len(list(hook.iter_audit_log(resource_id=DEMO_IDS["flow_orders"], source="ui"))) == 5
    with pytest.raises(CeligoApiError) as refused:
        list(hook.iter_audit_log(action="explode"))
    assert refused.value.status == 400


def test_resource_audit_and_404(hook: CeligoHook) -> None:
    created = hook.create_resource("tags", {"tag": "audited", "name": "audited"})
    hook.update_resource("tags", created["_id"], {"tag": "renamed"})
    events = [e["event"] for e in hook.iter_resource_audit_log("tags", created["_id"])]
    assert events == ["update", "create"]
    with pytest.raises(CeligoNotFoundError, match="does not exist"):
        list(hook.iter_resource_audit_log("flows", "f" * 24))


def test_export_operator_writes_the_window_page_by_page(emulator: EmulatorServer, tmp_path: Path) -> None:
    seed_audit(emulator, 30)
    operator = CeligoExportAuditLogOperator(task_id="audit", path=str(tmp_path / "audit.jsonl"))
    context: Any = {"data_interval_start": moment(10), "data_interval_end": moment(20)}
    summary = operator.execute(context)
    assert summary["entries"] == 10 and summary["since"] == "2026-05-28T20:36:40.000Z"
    lines = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert lines[0]["time"][11:19] == "20:45:40" and len(lines) == 10  # `until` (20:46:40) is excluded
    assert audit_calls(emulator) == 3  # 11 entries in the server's inclusive window, 4 a page
    assert [path.name for path in tmp_path.iterdir()] == ["audit.jsonl"]  # no temporary file left


def test_returning_entries_is_bounded(emulator: EmulatorServer) -> None:
    seed_audit(emulator, 12)
    context: Any = {"data_interval_start": moment(0), "data_interval_end": moment(60)}
    assert len(CeligoExportAuditLogOperator(task_id="a", max_entries_returned=12).execute(context)) == 12
    with pytest.raises(CeligoConfigError, match="more than 11 entries"):
        CeligoExportAuditLogOperator(task_id="a", max_entries_returned=11).execute(context)
    assert audit_calls(emulator) == 3 + 3  # 3 pages of 4 each time; the refusal came with the 12th entry


# -- settings and registered connections ---------------------------------------------------------------------


def test_diy_settings_round_trip(hook: CeligoHook, emulator: EmulatorServer) -> None:
    view = CeligoUpdateIntegrationSettingsOperator(
        task_id="settings", integration_id=TEMPLATE, settings={"customer": {"tier": "gold", "region": "eu"}}
    ).execute({})  # type: ignore[arg-type]
    assert view == {
        "integration_id": TEMPLATE,
        "settings": {"customer": {"tier": "gold", "region": "eu"}},
        "mode": None,
        "integration_app": False,
    }
    hook.update_integration_settings(TEMPLATE, {"customer": {"region": None}})
    assert hook.get_integration_settings(TEMPLATE)["settings"] == {"customer": {"tier": "gold"}}
    integration = hook.get_resource("integrations", TEMPLATE)
    assert integration["name"] == "Customer onboarding template" and len(integration["_registeredConnectionIds"]) == 2
    with pytest.raises(CeligoNotFoundError):
        hook.update_integration_settings("a" * 24, {"x": 1})
    with pytest.raises(CeligoConfigError, match="not an integration app"):
        hook.persist_integration_app_settings(TEMPLATE, {"x": 1})


def test_integration_app_settings(hook: CeligoHook, emulator: EmulatorServer) -> None:
    app = {"_id": APP, "name": "Shopify app", "_connectorId": "6650a00000000000000000c1", "mode": "settings"}
    emulator.admin.seed({"integrations": [{**app, "settings": {"general": {"syncDays": 3}}}]})
    answer = CeligoPersistIntegrationAppSettingsOperator(
        task_id="persist", integration_id=APP, pending={"general": {"syncDays": 7}}
    ).execute({})  # type: ignore[arg-type]
    assert answer == {"success": True}
    view = hook.get_integration_settings(APP)
    assert view["settings"] == {"general": {"syncDays": 7}} and view["mode"] == "settings" and view["integration_app"]
    with pytest.raises(CeligoConfigError, match="integration app"):
        hook.update_integration_settings(APP, {"x": 1})


def test_register_connections_operator(hook: CeligoHook, emulator: EmulatorServer) -> None:
    result = CeligoRegisterConnectionsOperator(
        task_id="register", integration_id=TEMPLATE, connection_ids=[ACME_SHOPIFY, ACME_NETSUITE]
    ).execute({})  # type: ignore[arg-type]
    assert result == {
        "integration_id": TEMPLATE,
        "registered_connection_ids": [DEMO_IDS["conn_shopify"], DEMO_IDS["conn_netsuite"], ACME_SHOPIFY, ACME_NETSUITE],
    }
    again = CeligoRegisterConnectionsOperator(
        task_id="register",
        integration_id=TEMPLATE,
        connection_ids=json.dumps([ACME_SHOPIFY]),
        deregister_ids=[ACME_NETSUITE],
    ).execute({})  # type: ignore[arg-type]
    assert (
        again["registered_connection_ids"][-1] == ACME_SHOPIFY
        and ACME_NETSUITE not in again["registered_connection_ids"]
    )
    with pytest.raises(CeligoApiError) as refused:
        hook.register_connections(TEMPLATE, ["d" * 24])
    assert refused.value.status == 422
    with pytest.raises(CeligoNotFoundError, match="not registered"):
        hook.deregister_connection(TEMPLATE, ACME_NETSUITE)
    with pytest.raises(CeligoNotFoundError, match="does not exist"):
        hook.register_connections("e" * 24, [ACME_SHOPIFY])


# -- users --------------------------------------------------------------------------------------------------------


def test_user_lifecycle_through_operators(hook: CeligoHook, emulator: EmulatorServer) -> None:
    assert len(CeligoListUsersOperator(task_id="users").execute({})) == 2  # type: ignore[arg-type]
    invited = CeligoInviteUserOperator(
        task_id="invite", user_email="new@acme.example", integration_access={TEMPLATE: "manage"}
    ).execute({})  # type: ignore[arg-type]
    assert invited["accepted"] is False
    scoped = CeligoListUsersOperator(task_id="users", integration_id=TEMPLATE).execute({})  # type: ignore[arg-type]
    assert invited["_id"] in {u["_id"] for u in scoped}
    with pytest.raises(CeligoConfigError, match="already has access"):
        hook.invite_user("NEW@acme.example", access_level="monitor")
    assert hook.reinvite_user("new@acme.example")["_id"] == invited["_id"]
    with pytest.raises(CeligoApiError) as accepted:
        hook.reinvite_user("ops-admin@example.com")
    assert accepted.value.status == 422

    updated = CeligoUpdateUserOperator(
        task_id="update", user="new@acme.example", access_level="monitor", disabled=True
    ).execute({})  # type: ignore[arg-type]
    assert updated["accessLevel"] == "monitor" and updated["disabled"] is True
    assert updated["integrationAccessLevel"] == [{"_integrationId": TEMPLATE, "accessLevel": "manage"}]  # kept
    assert hook.set_user_disabled(invited["_id"], True)["disabled"] is True  # no flip back
    assert hook.set_user_disabled(invited["_id"], False)["disabled"] is False

    assert CeligoRemoveUserOperator(task_id="rm", user=invited["_id"]).execute({}) is True  # type: ignore[arg-type]
    assert CeligoRemoveUserOperator(task_id="rm", user="new@acme.example", missing_ok=True).execute({}) is False  # type: ignore[arg-type]
    with pytest.raises(CeligoNotFoundError):
        hook.get_user(invited["_id"])


def test_bad_user_input_is_refused_by_the_emulator_too(hook: CeligoHook) -> None:
    with pytest.raises(CeligoApiError) as refused:
        hook.invite_user("x@y.example", integration_access={"a" * 24: "manage"})
    assert refused.value.status == 422


# -- tokens -------------------------------------------------------------------------------------------------------


def test_token_rotation(hook: CeligoHook, emulator: EmulatorServer) -> None:
    token_id = DEMO_IDS["accesstoken_airflow"]
    assert hook.display_access_token(token_id) == "0123456789abcdef0123456789abcdef"
    received: list[str] = []
    result = CeligoTokenOperator(
        task_id="rotate",
        resource_type="accesstokens",
        resource_id=token_id,
        action="generate",
        on_token=received.append,
    ).execute({})  # type: ignore[arg-type]
    assert result == {"resource_type": "accesstokens", "resource_id": token_id, "action": "generate", "token": "***"}
    assert hook.display_access_token(token_id) == received[0] != "0123456789abcdef0123456789abcdef"
    agent = DEMO_IDS["agent_onprem"]
    assert hook.change_agent_token(agent) == hook.display_agent_token(agent)
    with pytest.raises(CeligoNotFoundError, match=r"agent f+ does not exist"):
        hook.display_agent_token("f" * 24)
