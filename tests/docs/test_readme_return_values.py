"""The README's "What each task returns" table stays true: every operator it names exists, and for the tasks
that return a dict, the keys it lists are exactly the keys the task returns against the emulator."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import airflow_provider_celigo
from airflow_provider_celigo.testing import connection_json, running_emulator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS
from airflow_provider_celigo.testing.emulator.server import EmulatorServer

README = Path(__file__).resolve().parents[2] / "README.md"
SUMMARY = "CeligoRunFlowOperator"


def table() -> dict[str, tuple[str, str]]:
    """Return ``{operator: (returns, other XCom keys)}`` from the README's table."""
    text = README.read_text()
    body = text[text.index("<!-- return-values:start -->") : text.index("<!-- return-values:end -->")]
    rows: dict[str, tuple[str, str]] = {}
    for line in body.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`Celigo"):
            for name in re.findall(r"`(Celigo\w+)`", cells[0]):
                rows[name] = (cells[1], cells[2])
    return rows


def keys(cell: str) -> set[str]:
    return set(re.findall(r"`(\w+)`", cell))


class TI:
    def __init__(self) -> None:
        self.try_number = 1
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    with running_emulator(seed="demo", clock_speed=50) as server:
        monkeypatch.setenv("AIRFLOW_CONN_CELIGO_DEFAULT", connection_json(server))
        yield server


def test_every_operator_in_the_table_is_public_and_every_public_operator_is_in_it() -> None:
    rows = table()
    public = {name for name in airflow_provider_celigo.__all__ if name.endswith(("Operator", "Sensor"))}
    assert set(rows) == public


def test_the_run_summary_keys_are_those_listed(emulator: EmulatorServer) -> None:
    from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

    ti = TI()
    operator = CeligoRunFlowOperator(task_id="run", flow_id=DEMO_IDS["flow_orders"], poll_interval=0.2)
    summary = operator.execute({"ti": ti})  # type: ignore[arg-type]
    returns, other = table()[SUMMARY]
    assert set(summary) == keys(returns)
    assert set(ti.pushed) == keys(other)


def test_the_clone_keys_are_those_listed(emulator: EmulatorServer) -> None:
    from airflow_provider_celigo.operators.integrations import CeligoCloneIntegrationOperator

    ti = TI()
    operator = CeligoCloneIntegrationOperator(
        task_id="clone",
        source_id=DEMO_IDS["integration_template"],
        name="Acme",
        connection_map={
            DEMO_IDS["conn_shopify"]: DEMO_IDS["conn_acme_shopify"],
            DEMO_IDS["conn_netsuite"]: DEMO_IDS["conn_acme_netsuite"],
        },
    )
    result = operator.execute({"ti": ti})  # type: ignore[arg-type]
    returns, other = table()["CeligoCloneIntegrationOperator"]
    assert set(result) == keys(returns)
    assert set(ti.pushed) == keys(other)


def test_the_ping_keys_are_those_listed(emulator: EmulatorServer) -> None:
    from airflow_provider_celigo.operators.resources import CeligoPingConnectionOperator

    result = CeligoPingConnectionOperator(task_id="ping", connection_id=DEMO_IDS["conn_shopify"]).execute({})  # type: ignore[arg-type]
    assert set(result) == keys(table()["CeligoPingConnectionOperator"][0])
    assert json.loads(json.dumps(result)) == result  # XCom-safe


def test_create_returns_the_document_whose_id_the_readme_shows(emulator: EmulatorServer) -> None:
    from airflow_provider_celigo.operators.resources import CeligoCreateResourceOperator

    document = CeligoCreateResourceOperator(
        task_id="create",
        resource_type="exports",
        body={"name": "README export", "_connectionId": DEMO_IDS["conn_shopify"], "adaptorType": "HTTPExport"},
    ).execute({})  # type: ignore[arg-type]
    assert "['_id']" in table()["CeligoCreateResourceOperator"][0]
    assert re.fullmatch(r"[0-9a-f]{24}", document["_id"])
