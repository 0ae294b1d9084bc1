"""Unit tests of the clone operators (requests-mock)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
import requests_mock as rm

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError
from airflow_provider_celigo.operators.integrations import (
    CeligoCloneExportOperator,
    CeligoCloneFlowOperator,
    CeligoCloneImportOperator,
    CeligoCloneIntegrationOperator,
)

API = "https://api.integrator.io/v1"
TEMPLATE = "6650a0000000000000000002"
FLOW_1, FLOW_2 = "6650f0000000000000000011", "6650f0000000000000000012"
EXPORT = "6650e0000000000000000011"
IMPORT = "6650d0000000000000000011"
SHOPIFY, NETSUITE = "6650c0000000000000000001", "6650c0000000000000000002"
ACME_SHOPIFY, ACME_NETSUITE = "6650c0000000000000000004", "6650c0000000000000000005"
NEW_INTEGRATION, NEW_FLOW_1, NEW_FLOW_2 = "a" * 24, "b" * 24, "c" * 24


@pytest.fixture(autouse=True)
def connection(celigo_conn: Callable[..., str]) -> None:
    celigo_conn("celigo_default", max_retries=0)


@pytest.fixture
def template(requests_mock: rm.Mocker) -> rm.Mocker:
    requests_mock.get(f"{API}/integrations/{TEMPLATE}", json={"_id": TEMPLATE, "_registeredConnectionIds": [SHOPIFY]})
    requests_mock.get(
        f"{API}/integrations/{TEMPLATE}/flows",
        json=[
            {"_id": FLOW_1, "pageGenerators": [{"_exportId": EXPORT}], "pageProcessors": [{"_importId": IMPORT}]},
            {"_id": FLOW_2, "pageGenerators": [{"_exportId": EXPORT}]},
        ],
    )
    requests_mock.get(f"{API}/flows/{FLOW_1}", json={"_id": FLOW_1, "pageProcessors": [{"_importId": IMPORT}]})
    requests_mock.get(f"{API}/exports/{EXPORT}", json={"_id": EXPORT, "_connectionId": SHOPIFY})
    requests_mock.get(f"{API}/imports/{IMPORT}", json={"_id": IMPORT, "_connectionId": NETSUITE})
    requests_mock.get(f"{API}/connections/{SHOPIFY}", json={"_id": SHOPIFY, "name": "Shopify"})
    requests_mock.get(f"{API}/connections/{NETSUITE}", json={"_id": NETSUITE, "name": "NetSuite"})
    requests_mock.post(
        f"{API}/integrations/{TEMPLATE}/clone",
        status_code=201,
        json=[
            {"model": "Integration", "_id": NEW_INTEGRATION, "name": "Acme"},
            {"model": "Flow", "_id": NEW_FLOW_1, "name": "Customers"},
            {"model": "Flow", "_id": NEW_FLOW_2, "name": "Orders"},
        ],
    )
    # A named clone lists the integrations of that name first: they tell a lost answer's clone from them.
    requests_mock.get(f"{API}/integrations", json=[])
    requests_mock.patch(f"{API}/flows/{NEW_FLOW_1}", status_code=204)
    requests_mock.patch(f"{API}/flows/{NEW_FLOW_2}", status_code=204)
    return requests_mock


def run(operator: Any, **extra: Any) -> tuple[Any, mock.MagicMock]:
    ti = mock.MagicMock()
    ctx = {"ti": ti, "ds": "2024-05-01", "params": extra}
    operator.render_template_fields(ctx)
    return operator.execute(ctx), ti


def clone_posts(requests_mock: rm.Mocker) -> list[Any]:
    return [r for r in requests_mock.request_history if r.method == "POST" and r.path.endswith("/clone")]


def test_clone_integration_remaps_connections_and_returns_the_manifest(template: rm.Mocker) -> None:
    operator = CeligoCloneIntegrationOperator(
        task_id="clone",
        source_id=TEMPLATE,
        name="Acme {{ ds }}",
        connection_map='{"' + SHOPIFY + '": "{{ params.shop }}", "' + NETSUITE + '": "' + ACME_NETSUITE + '"}',
        tag="acme",
    )
    result, ti = run(operator, shop=ACME_SHOPIFY)
    assert result == {
        "integration_id": NEW_INTEGRATION,
        "resources": [
            {"model": "Integration", "_id": NEW_INTEGRATION, "name": "Acme"},
            {"model": "Flow", "_id": NEW_FLOW_1, "name": "Customers"},
            {"model": "Flow", "_id": NEW_FLOW_2, "name": "Orders"},
        ],
        "flow_ids": [NEW_FLOW_1, NEW_FLOW_2],
    }
    assert clone_posts(template)[0].json() == {
        "connectionMap": {SHOPIFY: ACME_SHOPIFY, NETSUITE: ACME_NETSUITE},
        "name": "Acme 2024-05-01",
        "tag": "acme",
    }
    ti.xcom_push.assert_any_call(key="flow_ids", value=[NEW_FLOW_1, NEW_FLOW_2])
    ti.xcom_push.assert_any_call(key="integration_id", value=NEW_INTEGRATION)
    assert not [r for r in template.request_history if r.method == "PATCH"]


def test_clone_with_an_unmapped_connection_creates_nothing(template: rm.Mocker) -> None:
    operator = CeligoCloneIntegrationOperator(
        task_id="clone", source_id=TEMPLATE, connection_map={SHOPIFY: ACME_SHOPIFY}
    )
    with pytest.raises(CeligoConfigError, match=f"{NETSUITE} \\('NetSuite'\\)"):
        run(operator)
    assert clone_posts(template) == []


def test_clone_without_any_map_names_every_connection(template: rm.Mocker) -> None:
    with pytest.raises(CeligoConfigError) as caught:
        run(CeligoCloneIntegrationOperator(task_id="clone", source_id=TEMPLATE))
    assert SHOPIFY in str(caught.value) and NETSUITE in str(caught.value)
    assert "2 connection(s)" in str(caught.value)


def test_enable_flows_patches_every_cloned_flow(template: rm.Mocker) -> None:
    operator = CeligoCloneIntegrationOperator(
        task_id="clone",
        source_id=TEMPLATE,
        connection_map={SHOPIFY: ACME_SHOPIFY, NETSUITE: ACME_NETSUITE},
        enable_flows=True,
    )
    run(operator)
    patches = [r for r in template.request_history if r.method == "PATCH"]
    assert sorted(r.path.rsplit("/", 1)[1] for r in patches) == [NEW_FLOW_1, NEW_FLOW_2]
    assert all(r.json() == [{"op": "replace", "path": "/disabled", "value": False}] for r in patches)


def test_clone_flow_requires_and_sends_the_target_integration(template: rm.Mocker) -> None:
    with pytest.raises(CeligoConfigError, match="integration_id"):
        CeligoCloneFlowOperator(task_id="f", source_id=FLOW_1, integration_id="")
    template.post(f"{API}/flows/{FLOW_1}/clone", status_code=201, json=[{"model": "Flow", "_id": NEW_FLOW_1}])
    operator = CeligoCloneFlowOperator(
        task_id="f", source_id=FLOW_1, integration_id="{{ params.target }}", connection_map={NETSUITE: NETSUITE}
    )
    result, _ = run(operator, target=NEW_INTEGRATION)
    assert result["integration_id"] == NEW_INTEGRATION and result["flow_ids"] == [NEW_FLOW_1]
    assert clone_posts(template)[0].json()["_integrationId"] == NEW_INTEGRATION


def test_clone_export_and_import(template: rm.Mocker) -> None:
    template.post(f"{API}/exports/{EXPORT}/clone", status_code=201, json={"_id": "d" * 24, "name": "copy"})
    result, _ = run(CeligoCloneExportOperator(task_id="e", source_id=EXPORT, connection_map={SHOPIFY: ACME_SHOPIFY}))
    assert result["resources"] == [{"model": "Export", "_id": "d" * 24, "name": "copy"}]
    with pytest.raises(CeligoConfigError, match=NETSUITE):
        run(CeligoCloneImportOperator(task_id="i", source_id=IMPORT, connection_map={SHOPIFY: ACME_SHOPIFY}))


def test_unreadable_source_surfaces_integrator_io_refusal(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/imports/{IMPORT}", status_code=403, json={"errors": [{"message": "no access"}]})
    requests_mock.post(
        f"{API}/imports/{IMPORT}/clone",
        status_code=400,
        json={"errors": [{"code": "invalid_connectionMap", "message": "unmapped: " + NETSUITE}]},
    )
    with pytest.raises(CeligoApiError, match="invalid_connectionMap"):
        run(CeligoCloneImportOperator(task_id="i", source_id=IMPORT))
