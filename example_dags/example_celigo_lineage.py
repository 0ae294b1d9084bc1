"""OpenLineage for Celigo flows: each run-flow task reports the flow's exports as its inputs and its imports as
its outputs (with the rows each import wrote), so lineage tools see the Celigo hop between systems.

Install the extra (``pip install "airflow-provider-celigo[openlineage]"``) and configure the OpenLineage
provider, e.g. to write events to a file::

    AIRFLOW__OPENLINEAGE__TRANSPORT='{"type": "file", "log_file_path": "/tmp/openlineage.jsonl", "append": true}'

Nothing else changes in the DAG: the operators carry ``get_openlineage_facets_on_complete`` and
``..._on_failure``. Dataset names follow the OpenLineage naming spec where a step's connection has a standard
scheme (Snowflake, PostgreSQL, MySQL, SQL Server, BigQuery, S3, FTP/SFTP) and fall back to
``celigo://<API host>`` + ``connections/<connection id>/<exports|imports>/<step id>`` (docs/lineage.md).

Flow ids: the emulator's demo flows. Connection: ``celigo_default``.
"""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator, CeligoRunIntegrationFlowsOperator

with DAG(dag_id="example_celigo_lineage", schedule=None, catchup=False, tags=["celigo", "example"]):
    customers = CeligoRunFlowOperator(
        task_id="run_customers_flow", flow_id="6650f0000000000000000002", poll_interval=2, timeout=600
    )
    marketing = CeligoRunIntegrationFlowsOperator(
        task_id="run_marketing_segments", integration_id="6650a0000000000000000003", poll_interval=2, timeout=900
    )
    customers >> marketing
