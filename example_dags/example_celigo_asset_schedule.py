"""Schedule a DAG on "the flow delivered": the run operator's flow asset.

``CeligoRunFlowOperator`` declares the asset ``celigo://<API host>/flows/<flow id>`` as an outlet (when its
flow id is literal and it waits for the run; ``emit_asset=False`` opts out). Each successful run-flow task is
one asset event whose extra carries the run's job ids and counts, and ``example_celigo_after_customers``,
scheduled on ``celigo_flow_asset(...)``, runs once after each.

The flow id is the emulator's demo "Customers to NetSuite" flow. Connection: ``celigo_default``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_celigo.assets import celigo_flow_asset
from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

CUSTOMERS_FLOW_ID = "6650f0000000000000000002"

with DAG(dag_id="example_celigo_asset_schedule", schedule=None, catchup=False, tags=["celigo", "example"]):
    CeligoRunFlowOperator(task_id="run_customers_flow", flow_id=CUSTOMERS_FLOW_ID, poll_interval=2, timeout=600)

with DAG(
    dag_id="example_celigo_after_customers",
    schedule=[celigo_flow_asset(CUSTOMERS_FLOW_ID)],
    catchup=False,
    tags=["celigo", "example"],
):

    @task
    def load_customers(**context: Any) -> list[dict[str, Any]]:
        """Return the extra (job ids, counts) of each flow-asset event that triggered this run."""
        events = context["triggering_asset_events"]
        return [dict(event.extra) for asset in events for event in events[asset]]

    load_customers()
