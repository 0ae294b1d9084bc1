"""One synchronous run of the emulator's orders flow, through the connection the browser test makes in the UI.

The connection ``celigo_browser`` does not exist when the DAG is parsed: the test creates it through the form.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

DAG_ID = "celigo_browser_link"
TASK_ID = "run_orders"
CONN_ID = "celigo_browser"

with DAG(DAG_ID, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, tags=["e2e", "celigo"]):
    CeligoRunFlowOperator(
        task_id=TASK_ID,
        flow_id=DEMO_IDS["flow_orders"],
        celigo_conn_id=CONN_ID,
        poll_interval=0.5,
    )
