"""The README's return-value rows of the audit, settings, registration and token operators list exactly the keys
those operators return against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_readme_return_values import keys, table

from airflow_provider_celigo.testing import connection_json, running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with running_emulator(seed="demo") as started:
        yield started


@pytest.fixture
def emulator(server: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    server.admin.reset()
    server.admin.seed("demo")
    monkeypatch.setenv("AIRFLOW_CONN_CELIGO_DEFAULT", connection_json(server))
    return server


def returned_keys(operator: str) -> set[str]:
    return keys(table()[operator][0])


def test_export_summary_keys(emulator: EmulatorServer, tmp_path: Path) -> None:
    from airflow_provider_celigo.operators.audit import CeligoExportAuditLogOperator

    operator = CeligoExportAuditLogOperator(
        task_id="audit", path=str(tmp_path / "a.jsonl"), since="2026-01-01", until="2026-01-02"
    )
    summary: Any = operator.execute({})  # type: ignore[arg-type]
    assert set(summary) == returned_keys("CeligoExportAuditLogOperator") - {"max_entries_returned"}


def test_register_settings_and_token_keys(emulator: EmulatorServer) -> None:
    from airflow_provider_celigo.operators.account import (
        CeligoRegisterConnectionsOperator,
        CeligoTokenOperator,
        CeligoUpdateIntegrationSettingsOperator,
    )

    integration = DEMO_IDS["integration_template"]
    registered = CeligoRegisterConnectionsOperator(
        task_id="r", integration_id=integration, connection_ids=[DEMO_IDS["conn_acme_shopify"]]
    ).execute({})  # type: ignore[arg-type]
    assert set(registered) == returned_keys("CeligoRegisterConnectionsOperator")
    view = CeligoUpdateIntegrationSettingsOperator(task_id="s", integration_id=integration, settings={"a": 1}).execute(
        {}  # type: ignore[arg-type]
    )
    assert set(view) == returned_keys("CeligoUpdateIntegrationSettingsOperator")
    token = CeligoTokenOperator(
        task_id="t", resource_type="accesstokens", resource_id=DEMO_IDS["accesstoken_airflow"]
    ).execute({})  # type: ignore[arg-type]
    assert set(token) == returned_keys("CeligoTokenOperator") and token["token"] == "***"
