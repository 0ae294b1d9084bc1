"""The celigo asset URI scheme, ``celigo_flow_asset`` and the run operator's default outlet."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from airflow.sdk import Asset
from airflow_compat import AIRFLOW_VERSION

from airflow_provider_celigo.assets import (
    api_host,
    celigo_flow_asset,
    flow_asset_uri,
    normalize_celigo_uri,
    to_openlineage_dataset,
)
from airflow_provider_celigo.exceptions import CeligoConfigError
from airflow_provider_celigo.get_provider_info import get_provider_info
from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

FLOW = "6650f0000000000000000001"


@pytest.fixture(autouse=True)
def _fresh_host_cache() -> None:
    from airflow_provider_celigo import assets

    assets._connection_api_host.cache_clear()


def test_flow_asset_uri_names_the_region_host_and_never_the_token(celigo_conn: Callable[..., str]) -> None:
    celigo_conn("celigo_default")
    celigo_conn("celigo_eu", region="eu")
    assert flow_asset_uri(FLOW) == f"celigo://api.integrator.io/flows/{FLOW}"
    asset = celigo_flow_asset(FLOW.upper(), "celigo_eu")
    assert asset.uri == f"celigo://api.eu.integrator.io/flows/{FLOW}"
    assert asset.name == asset.uri
    assert "test-token" not in repr(asset)


def test_flow_asset_keeps_a_base_url_port(celigo_conn: Callable[..., str]) -> None:
    celigo_conn("celigo_local", base_url="http://127.0.0.1:8765/v1")
    assert flow_asset_uri(FLOW, "celigo_local") == f"celigo://127.0.0.1:8765/flows/{FLOW}"
    assert api_host("https://api.integrator.io:443/v1") == "api.integrator.io"


def test_bad_flow_id_is_refused_with_the_fix(celigo_conn: Callable[..., str]) -> None:
    celigo_conn("celigo_default")
    with pytest.raises(CeligoConfigError, match="24 hexadecimal"):
        celigo_flow_asset("orders")


def test_scheme_is_registered_with_a_normaliser_and_an_openlineage_converter() -> None:
    (entry,) = get_provider_info()["asset-uris"]
    assert entry["schemes"] == ["celigo"]
    assert entry["handler"].endswith("normalize_celigo_uri")
    assert entry["to_openlineage_converter"].endswith("to_openlineage_dataset")


def test_airflow_normalises_and_validates_celigo_uris() -> None:
    assert Asset(uri=f"celigo://API.Integrator.io:443/flows/{FLOW.upper()}/").uri == (
        f"celigo://api.integrator.io/flows/{FLOW}"
    )
    with pytest.raises(ValueError, match="flows/<24-hex flow id>"):
        Asset(uri="celigo://api.integrator.io/flow/123")
    with pytest.raises(ValueError, match="no API host"):
        normalize_celigo_uri(urlsplit(f"celigo:///flows/{FLOW}"))


def test_openlineage_dataset_of_a_flow_asset() -> None:
    dataset = to_openlineage_dataset(Asset(uri=f"celigo://api.integrator.io/flows/{FLOW}"))
    assert (dataset.namespace, dataset.name) == ("celigo://api.integrator.io", f"flows/{FLOW}")


def test_run_operator_declares_its_flow_asset(celigo_conn: Callable[..., str]) -> None:
    celigo_conn("celigo_default")
    operator = CeligoRunFlowOperator(task_id="run", flow_id=FLOW, emit_asset=True)
    assert [outlet.uri for outlet in operator.outlets] == [f"celigo://api.integrator.io/flows/{FLOW}"]
    assert CeligoRunFlowOperator(task_id="quiet", flow_id=FLOW, emit_asset=False).outlets == []
    assert CeligoRunFlowOperator(task_id="fire", flow_id=FLOW, wait_for_completion=False, emit_asset=True).outlets == []
    templated = CeligoRunFlowOperator(task_id="templated", flow_id="{{ params.flow }}", emit_asset=True)
    assert templated.outlets == []


def test_the_default_declares_the_asset_from_airflow_3_1(celigo_conn: Callable[..., str]) -> None:
    # Airflow 3.0 fails a task whose outlet its DAG processor did not register (apache/airflow#51644).
    celigo_conn("celigo_default")
    declared = bool(CeligoRunFlowOperator(task_id="run", flow_id=FLOW).outlets)
    assert declared is (AIRFLOW_VERSION >= (3, 1))


def test_run_operator_without_a_readable_connection_declares_no_asset() -> None:
    operator = CeligoRunFlowOperator(task_id="run", flow_id=FLOW, celigo_conn_id="celigo_missing_here", emit_asset=True)
    assert operator.outlets == []


def test_asset_event_extra_carries_job_ids_and_counts(celigo_conn: Callable[..., str]) -> None:
    celigo_conn("celigo_default")
    operator = CeligoRunFlowOperator(task_id="run", flow_id=FLOW, emit_asset=True)
    summary = {
        "flow_id": FLOW,
        "job_id": "a" * 24,
        "job_ids": ["a" * 24, "b" * 24],
        "status": "completed",
        "outcome": "success",
        "num_success": 7,
        "num_error": 0,
        "num_ignore": 1,
    }
    operator._keep_celigo_result(summary)

    from airflow.sdk.execution_time.context import OutletEventAccessors

    events = OutletEventAccessors()  # what a task's context holds (keyed by the asset's name and URI)
    operator.post_execute({"outlet_events": events})
    extra = events[operator.outlets[0]].extra
    assert extra["job_ids"] == ["a" * 24, "b" * 24]
    assert (extra["num_success"], extra["status"]) == (7, "completed")
