"""CeligoJobLink: reading the URL from XCom, the UI address, registration and DAG serialization."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from airflow.sdk import DAG
from airflow.sdk.execution_time import xcom as xcom_module

from airflow_provider_celigo.get_provider_info import get_provider_info
from airflow_provider_celigo.links import JOB_URL_XCOM_KEY, CeligoJobLink, job_url
from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator, CeligoRunIntegrationFlowsOperator
from airflow_provider_celigo.sensors.jobs import CeligoFlowRunSensor, CeligoJobSensor

FLOW = "6650f0000000000000000001"
INTEGRATION = "6650a0000000000000000001"
URL = f"https://integrator.io/integrations/{INTEGRATION}/flowBuilder/{FLOW}"


class TIKey:
    dag_id, task_id, run_id, map_index, try_number = "dag", "run", "manual__1", -1, 1


class FakeXCom:
    """XCom values keyed by (task_id, key), and the keys asked for."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], Any] = {}
        self.asked: list[str] = []

    def get_value(self, *, ti_key: Any, key: str) -> Any:
        self.asked.append(key)
        return self.values.get((ti_key.task_id, key))


@pytest.fixture
def xcom(monkeypatch: pytest.MonkeyPatch) -> FakeXCom:
    fake = FakeXCom()
    monkeypatch.setattr(xcom_module.XCom, "get_value", staticmethod(fake.get_value))
    return fake


def operator() -> CeligoRunFlowOperator:
    return CeligoRunFlowOperator(task_id="run", flow_id=FLOW)


def test_link_returns_the_url_pushed_by_the_task(xcom: FakeXCom) -> None:
    xcom.values[("run", JOB_URL_XCOM_KEY)] = URL
    assert CeligoJobLink().get_link(operator(), ti_key=TIKey()) == URL  # type: ignore[arg-type]
    assert xcom.asked == ["celigo_job_url"]


def test_link_is_empty_without_a_job(xcom: FakeXCom) -> None:
    assert CeligoJobLink().get_link(operator(), ti_key=TIKey()) == ""  # type: ignore[arg-type]


def test_link_ignores_a_non_text_value(xcom: FakeXCom) -> None:
    xcom.values[("run", JOB_URL_XCOM_KEY)] = {"not": "a url"}
    assert CeligoJobLink().get_link(operator(), ti_key=TIKey()) == ""  # type: ignore[arg-type]


def test_link_name() -> None:
    assert CeligoJobLink().name == "Celigo job"


@pytest.mark.parametrize(
    ("ui", "flow", "integration", "expected"),
    [
        ("https://integrator.io", FLOW, INTEGRATION, URL),
        ("https://eu.integrator.io/", FLOW, None, f"https://eu.integrator.io/integrations/none/flowBuilder/{FLOW}"),
        ("https://integrator.io", None, INTEGRATION, "https://integrator.io/dashboard"),
    ],
)
def test_job_url(ui: str, flow: str | None, integration: str | None, expected: str) -> None:
    assert job_url(ui, flow, integration) == expected


def test_link_is_registered_with_the_provider() -> None:
    assert "airflow_provider_celigo.links.CeligoJobLink" in get_provider_info()["extra-links"]


@pytest.mark.parametrize("task_class", [CeligoRunFlowOperator, CeligoRunIntegrationFlowsOperator, CeligoJobSensor])
def test_tasks_carry_the_link(task_class: type) -> None:
    assert any(isinstance(link, CeligoJobLink) for link in task_class.operator_extra_links)
    assert any(isinstance(link, CeligoJobLink) for link in CeligoFlowRunSensor.operator_extra_links)


def test_link_survives_dag_serialization() -> None:
    from airflow_compat import serialization_round_trip

    with DAG("links", start_date=datetime(2026, 1, 1), schedule=None) as dag:
        operator()
    rebuilt = serialization_round_trip(dag)
    links = {link.name: link.xcom_key for link in rebuilt.task_dict["run"].operator_extra_links}
    assert links == {"Celigo job": "_link_CeligoJobLink"}
