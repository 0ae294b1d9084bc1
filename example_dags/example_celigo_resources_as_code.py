"""Manage integrator.io resources as code: create a connection, an export, an import and a flow from
templated JSON, run the flow, update it safely, then clean everything up.

Each create returns the new document; later bodies pull the ids they reference from XCom. The update changes
only the fields it names (a JSON Patch where integrator.io accepts one, otherwise get -> merge -> put), so
nothing else is erased and no masked secret (``******``) is ever written back.
"""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_provider_celigo.operators.flows import CeligoFlowStateOperator, CeligoRunFlowOperator
from airflow_provider_celigo.operators.resources import (
    CeligoCreateResourceOperator,
    CeligoDeleteResourceOperator,
    CeligoUpdateResourceOperator,
)


def created_id(task_id: str) -> str:
    """Return a template that pulls the ``_id`` of the document a create task returned."""
    return f"{{{{ ti.xcom_pull(task_ids='{task_id}')['_id'] }}}}"


with DAG(
    dag_id="example_celigo_resources_as_code",
    schedule=None,
    catchup=False,
    tags=["celigo", "example"],
    params={"integration_id": "6650a0000000000000000001", "target_connection_id": "6650c0000000000000000003"},
) as dag:
    connection = CeligoCreateResourceOperator(
        task_id="create_connection",
        resource_type="connections",
        body={
            "name": "Orders API ({{ ds }})",
            "type": "http",
            "http": {
                "baseURI": "https://orders.example.com/api",
                "mediaType": "json",
                "auth": {"type": "token", "token": {"token": "{{ var.value.get('orders_api_token', 'demo') }}"}},
            },
        },
        if_exists="return",
    )
    export = CeligoCreateResourceOperator(
        task_id="create_export",
        resource_type="exports",
        body={
            "name": "Get orders",
            "_connectionId": created_id("create_connection"),
            "_integrationId": "{{ params.integration_id }}",
            "adaptorType": "HTTPExport",
            "http": {"relativeURI": "/orders", "method": "GET"},
        },
    )
    import_ = CeligoCreateResourceOperator(
        task_id="create_import",
        resource_type="imports",
        body={
            "name": "Load orders",
            "_connectionId": "{{ params.target_connection_id }}",
            "_integrationId": "{{ params.integration_id }}",
            "adaptorType": "RDBMSImport",
        },
    )
    flow = CeligoCreateResourceOperator(
        task_id="create_flow",
        resource_type="flows",
        body={
            "name": "Orders API to warehouse",
            "_integrationId": "{{ params.integration_id }}",
            "disabled": True,  # created disabled, so a schedule cannot start it before we are ready
            "pageGenerators": [{"_exportId": created_id("create_export")}],
            "pageProcessors": [{"type": "import", "_importId": created_id("create_import")}],
        },
    )
    enable = CeligoFlowStateOperator(task_id="enable_flow", flow_id=created_id("create_flow"), enabled=True)
    run = CeligoRunFlowOperator(task_id="run_flow", flow_id=created_id("create_flow"), poll_interval=2)
    rename = CeligoUpdateResourceOperator(
        task_id="update_flow",
        resource_type="flows",
        resource_id=created_id("create_flow"),
        body={"name": "Orders API to warehouse (nightly)", "schedule": "? 0 2 * * *"},
    )
    cleanup = [
        CeligoDeleteResourceOperator(
            task_id=f"delete_{kind}",
            resource_type=f"{kind}s",
            resource_id=created_id(f"create_{kind}"),
            missing_ok=True,
        )
        for kind in ("flow", "export", "import", "connection")
    ]

    connection >> export >> import_ >> flow >> enable >> run >> rename
    rename >> cleanup[0] >> cleanup[1] >> cleanup[2] >> cleanup[3]
