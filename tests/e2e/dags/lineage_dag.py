"""A DAG whose Celigo runs are seen by OpenLineage (file transport) and emit their flow assets.

- ``run_customers``: the demo flow with one export (HTTP: Celigo fallback name) and two imports (NetSuite:
  fallback; Snowflake with a table: ``snowflake://...``); completes.
- ``run_refunds``: a flow that fails; its FAIL event carries the error.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

with DAG("celigo_lineage", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["e2e", "celigo"]):
    run_customers = CeligoRunFlowOperator(
        task_id="run_customers", flow_id=DEMO_IDS["flow_customers"], poll_interval=0.5
    )
    run_refunds = CeligoRunFlowOperator(task_id="run_refunds", flow_id=DEMO_IDS["flow_refunds"], poll_interval=0.5)
    run_customers >> run_refunds
