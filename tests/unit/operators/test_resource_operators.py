"""Unit tests of the resource, state, lookup-cache, ping, error and recycle-bin operators (requests-mock)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
import requests_mock as rm

from airflow_provider_celigo.exceptions import CeligoApiError, CeligoConfigError, CeligoError
from airflow_provider_celigo.operators.resources import (
    CeligoCreateResourceOperator,
    CeligoDeleteLookupCacheEntriesOperator,
    CeligoDeleteResourceOperator,
    CeligoDeleteStateOperator,
    CeligoGetLookupCacheEntriesOperator,
    CeligoGetResourceOperator,
    CeligoGetStateOperator,
    CeligoListResourcesOperator,
    CeligoPingConnectionOperator,
    CeligoPutStateOperator,
    CeligoResolveFlowErrorsOperator,
    CeligoRestoreResourceOperator,
    CeligoRetryFlowErrorsOperator,
    CeligoUpdateResourceOperator,
    CeligoUpsertLookupCacheEntriesOperator,
)
from airflow_provider_celigo.resource_types import ResourceType

API = "https://api.integrator.io/v1"
FLOW = "6650f0000000000000000001"
EXPORT = "6650e0000000000000000001"
CONN = "6650c0000000000000000006"
CACHE = "6650b0000000000000000001"


@pytest.fixture(autouse=True)
def connection(celigo_conn: Callable[..., str]) -> None:
    celigo_conn("celigo_default", max_retries=0)


def context() -> dict[str, Any]:
    return {"ti": mock.MagicMock(), "ds": "2024-05-01", "params": {}}


def run(operator: Any) -> Any:
    ctx = context()
    operator.render_template_fields(ctx)
    return operator.execute(ctx)


def test_importing_the_operator_modules_stays_light() -> None:
    code = (
        "import sys, airflow.sdk; before = set(sys.modules);"
        "import airflow_provider_celigo.operators.resources, airflow_provider_celigo.operators.integrations;"
        "new = set(sys.modules) - before;"
        "heavy = sorted(m for m in new if m.startswith(('requests', 'tenacity', 'fastapi', 'uvicorn'))"
        " or m.startswith(('airflow_provider_celigo.hooks', 'airflow_provider_celigo.testing.emulator')));"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_typo_in_the_resource_type_fails_when_the_dag_is_parsed() -> None:
    with pytest.raises(CeligoConfigError, match="Did you mean 'lookupcaches'"):
        CeligoGetResourceOperator(task_id="t", resource_type="lookupcahces", resource_id=FLOW)


def test_body_is_templated_and_rendered_as_json() -> None:
    assert CeligoCreateResourceOperator.template_fields_renderers["body"] == "json"
    assert CeligoUpdateResourceOperator.template_fields_renderers["body"] == "json"
    assert "body" in CeligoCreateResourceOperator.template_fields


def test_create_renders_a_json_string_body(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/scripts", json=[])
    requests_mock.post(f"{API}/scripts", status_code=201, json={"_id": "9" * 24, "name": "run 2024-05-01"})
    operator = CeligoCreateResourceOperator(
        task_id="create", resource_type="scripts", body='{"name": "run {{ ds }}", "content": "x"}'
    )
    assert run(operator)["_id"] == "9" * 24
    assert requests_mock.last_request.json() == {"name": "run 2024-05-01", "content": "x"}


@pytest.mark.parametrize("body", ["[1, 2]", "{{ ds }}", 7])
def test_create_refuses_a_body_that_is_not_an_object(requests_mock: rm.Mocker, body: Any) -> None:
    operator = CeligoCreateResourceOperator(task_id="create", resource_type="scripts", body=body)
    with pytest.raises(CeligoConfigError, match="body"):
        run(operator)
    assert requests_mock.call_count == 0


def test_create_returns_the_existing_resource_with_if_exists_return(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/tags", json=[{"_id": "1" * 24, "name": "prod"}])
    operator = CeligoCreateResourceOperator(
        task_id="create", resource_type=ResourceType.TAGS, body={"name": "prod", "tag": "prod"}, if_exists="return"
    )
    assert run(operator)["_id"] == "1" * 24


def test_get_and_list(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW})
    assert run(CeligoGetResourceOperator(task_id="get", resource_type="Flow", resource_id=FLOW)) == {"_id": FLOW}
    requests_mock.get(f"{API}/flows", json=[{"_id": "1"}, {"_id": "2"}, {"_id": "3"}])
    operator = CeligoListResourcesOperator(
        task_id="list", resource_type="flows", filters="{\"disabled\": \"{{ params.get('d', 'false') }}\"}", limit=2
    )
    assert [f["_id"] for f in run(operator)] == ["1", "2"]
    assert requests_mock.last_request.qs == {"disabled": ["false"]}


def test_update_passes_the_rendered_change(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/flows/{FLOW}", [{"json": {"_id": FLOW, "name": "a"}}, {"json": {"_id": FLOW}}])
    requests_mock.patch(f"{API}/flows/{FLOW}", status_code=204)
    operator = CeligoUpdateResourceOperator(
        task_id="update", resource_type="flows", resource_id=FLOW, body={"name": "nightly {{ ds }}"}
    )
    run(operator)
    patch = next(r for r in requests_mock.request_history if r.method == "PATCH")
    assert patch.json() == [{"op": "replace", "path": "/name", "value": "nightly 2024-05-01"}]


def test_update_of_a_missing_resource_fails_clearly(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/exports/{EXPORT}", status_code=404, json={"errors": [{"message": "not found"}]})
    operator = CeligoUpdateResourceOperator(task_id="u", resource_type="exports", resource_id=EXPORT, body={"a": 1})
    with pytest.raises(CeligoApiError, match="does not exist, so it cannot be updated"):
        run(operator)


def test_delete_with_and_without_missing_ok(requests_mock: rm.Mocker) -> None:
    requests_mock.delete(f"{API}/exports/{EXPORT}", status_code=404, json={"errors": [{"message": "not found"}]})
    lenient = CeligoDeleteResourceOperator(task_id="d", resource_type="exports", resource_id=EXPORT, missing_ok=True)
    assert run(lenient) is False
    strict = CeligoDeleteResourceOperator(task_id="d2", resource_type="exports", resource_id=EXPORT)
    with pytest.raises(CeligoApiError):
        run(strict)


def test_restore(requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{API}/recycleBinTTL/exports/{EXPORT}/doCascadeRestore", json=[{"model": "Export"}])
    operator = CeligoRestoreResourceOperator(task_id="r", resource_type="Export", resource_id=EXPORT)
    assert run(operator) == [{"model": "Export"}]


def test_state_operators(requests_mock: rm.Mocker) -> None:
    requests_mock.put(
        f"{API}/flows/{FLOW}/state/cursor", text="Created", status_code=201, headers={"content-type": "text/plain"}
    )
    put = CeligoPutStateOperator(
        task_id="p", key="cursor", value={"day": "{{ ds }}"}, resource_type="flows", resource_id=FLOW
    )
    run(put)
    assert requests_mock.last_request.json() == {"day": "2024-05-01"}
    requests_mock.get(f"{API}/state/cursor", status_code=404, json={"errors": [{"message": "missing"}]})
    assert run(CeligoGetStateOperator(task_id="g", key="cursor", missing_ok=True)) is None
    requests_mock.delete(f"{API}/state/cursor", status_code=204)
    assert run(CeligoDeleteStateOperator(task_id="d", key="cursor")) is True


def test_state_operator_needs_type_and_id_together() -> None:
    with pytest.raises(CeligoConfigError, match="both resource_type and resource_id"):
        CeligoGetStateOperator(task_id="g", key="k", resource_id=FLOW)


def test_lookup_cache_operators(requests_mock: rm.Mocker) -> None:
    requests_mock.post(f"{API}/lookupcaches/{CACHE}/data", status_code=204)
    upsert = CeligoUpsertLookupCacheEntriesOperator(
        task_id="u", lookup_cache_id=CACHE, entries=[{"key": "sku-{{ ds }}", "value": 1}]
    )
    assert run(upsert) == 1
    assert requests_mock.last_request.json() == {"data": [{"key": "sku-2024-05-01", "value": "1"}]}
    requests_mock.post(f"{API}/lookupcaches/{CACHE}/getData", json={"data": [{"key": "a", "value": 2}]})
    assert run(CeligoGetLookupCacheEntriesOperator(task_id="g", lookup_cache_id=CACHE, keys="a")) == {"a": 2}
    requests_mock.delete(f"{API}/lookupcaches/{CACHE}/data", status_code=204)
    assert run(CeligoDeleteLookupCacheEntriesOperator(task_id="d", lookup_cache_id=CACHE, keys=["a", "b"])) == 2


def test_ping_fails_the_task_with_the_reason(requests_mock: rm.Mocker) -> None:
    requests_mock.get(
        f"{API}/connections/{CONN}/ping", json={"errors": [{"code": "offline", "message": "host unreachable"}]}
    )
    requests_mock.get(f"{API}/connections/{CONN}", json={"_id": CONN, "name": "Legacy FTP", "offline": True})
    with pytest.raises(CeligoError, match=r"'Legacy FTP'.*host unreachable"):
        run(CeligoPingConnectionOperator(task_id="ping", connection_id=CONN))


def test_ping_returns_the_result_when_online(requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{API}/connections/{CONN}/ping", json={"code": 200})
    requests_mock.get(f"{API}/connections/{CONN}", json={"_id": CONN, "name": "FTP", "offline": False})
    assert run(CeligoPingConnectionOperator(task_id="ping", connection_id=CONN))["ok"] is True


def test_retry_and_resolve_operators(requests_mock: rm.Mocker) -> None:
    job = "6650f1000000000000000001"
    requests_mock.get(f"{API}/flows/{FLOW}", json={"_id": FLOW})  # integrator.io's time, read before retrying
    requests_mock.post(f"{API}/flows/{FLOW}/{EXPORT}/retry", json={"_jobId": job})
    retry = CeligoRetryFlowErrorsOperator(task_id="r", flow_id=FLOW, step_id=EXPORT, retry_data_keys=["k1", "k2"])
    assert run(retry) == [job]
    assert requests_mock.last_request.json() == {"retryDataKeys": ["k1", "k2"]}
    requests_mock.get(f"{API}/flows/{FLOW}/{EXPORT}/errors", json={"errors": [{"errorId": "e1"}, {"errorId": "e2"}]})
    requests_mock.put(f"{API}/flows/{FLOW}/{EXPORT}/resolved", status_code=204)
    assert run(CeligoResolveFlowErrorsOperator(task_id="s", flow_id=FLOW, step_id=EXPORT)) == 2
    assert requests_mock.last_request.json() == {"errors": ["e1", "e2"]}
