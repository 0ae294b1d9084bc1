"""CeligoLineageMixin with requests-mock: datasets per step, counts over every job of a multi-source run, and
the bounded, cached reads."""

from __future__ import annotations

from collections.abc import Callable

import requests_mock as rm

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

API = "https://api.integrator.io/v1"
FLOW, E1, E2, IMP = (
    "6650f0000000000000000001",
    "6650e0000000000000000001",
    "6650e0000000000000000002",
    "6650d" + "0" * 18 + "1",
)
SNOW, SHOP = "6650c0000000000000000003", "6650c0000000000000000001"
J1, J2 = "a" * 24, "b" * 24


def mock_account(mock: rm.Mocker) -> None:
    mock.get(
        f"{API}/flows/{FLOW}",
        json={
            "_id": FLOW,
            "name": "Orders",
            "pageGenerators": [{"_exportId": E1}, {"_exportId": E2}],
            "pageProcessors": [{"type": "import", "_importId": IMP}],
        },
    )
    mock.get(f"{API}/exports/{E1}", json={"_id": E1, "_connectionId": SHOP})
    mock.get(
        f"{API}/exports/{E2}", json={"_id": E2, "_connectionId": SNOW, "rdbms": {"query": "SELECT * FROM DB.S.ORDERS"}}
    )
    mock.get(
        f"{API}/imports/{IMP}",
        json={"_id": IMP, "_connectionId": SNOW, "rdbms": {"bulkInsert": {"tableName": "DB.S.LOADED"}}},
    )
    mock.get(f"{API}/connections/{SHOP}", json={"_id": SHOP, "type": "http", "http": {}})
    mock.get(
        f"{API}/connections/{SNOW}",
        json={"_id": SNOW, "type": "rdbms", "rdbms": {"type": "snowflake", "host": "acme.snowflakecomputing.com"}},
    )
    for job_id, rows in ((J1, 30), (J2, 12)):
        mock.get(
            f"{API}/jobs/{job_id}/family",
            json={
                "_id": job_id,
                "children": [
                    {"type": "export", "_exportId": E1, "numSuccess": 99},
                    {"type": "import", "_importId": IMP, "numSuccess": rows},
                ],
            },
        )


def test_complete_lineage_of_a_two_source_run(celigo_conn: Callable[..., str]) -> None:
    celigo_conn("celigo_default")
    operator = CeligoRunFlowOperator(task_id="run", flow_id=FLOW)
    operator._keep_celigo_result(
        {"flow_id": FLOW, "job_id": J1, "job_ids": [J1, J2], "status": "completed", "num_success": 42, "num_error": 0}
    )
    with rm.Mocker() as mock:
        mock_account(mock)
        lineage = operator.get_openlineage_facets_on_complete(None)
        calls = mock.call_count
        again = operator.get_openlineage_facets_on_failure(None)
        assert mock.call_count == calls  # cached per task
    assert calls == 1 + 2 + 1 + 2 + 2  # flow, exports, import, distinct connections, one family per flow job
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        ("celigo://api.integrator.io", f"connections/{SHOP}/exports/{E1}"),
        ("snowflake://acme", "DB.S.ORDERS"),
    ]
    (output,) = lineage.outputs
    assert (output.namespace, output.name) == ("snowflake://acme", "DB.S.LOADED")
    assert output.outputFacets["outputStatistics"].rowCount == 42
    assert lineage.run_facets["celigo"].jobIds == [J1, J2]
    assert "errorMessage" in again.run_facets and J1 in again.run_facets["errorMessage"].message


def test_a_failed_read_falls_back_and_never_raises(celigo_conn: Callable[..., str]) -> None:
    celigo_conn("celigo_default")
    operator = CeligoRunFlowOperator(task_id="run", flow_id=FLOW)
    operator.job_id = J1  # failed before any summary: the lineage still names the flow's steps
    with rm.Mocker() as mock:
        mock_account(mock)
        mock.get(f"{API}/connections/{SNOW}", status_code=404, json={"errors": [{"code": "not_found", "message": "x"}]})
        lineage = operator.get_openlineage_facets_on_failure(None)
    assert [d.name for d in lineage.outputs] == [f"connections/{SNOW}/imports/{IMP}"]
    assert lineage.run_facets["celigo"].jobIds == [J1]
