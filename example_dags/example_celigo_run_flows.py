"""Run one integrator.io flow, wait for its job, then run a second flow that depends on it.

The flow ids default to the local emulator's demo account (``celigo-emulator --seed demo``); point them at
your own flows with the DAG's params. Connection: ``celigo_default`` (see the README).
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

with DAG(
    dag_id="example_celigo_run_flows",
    schedule=None,
    catchup=False,
    tags=["celigo", "example"],
    params={"orders_flow_id": "6650f0000000000000000001", "customers_flow_id": "6650f0000000000000000002"},
    default_args={"retries": 1, "retry_delay": timedelta(seconds=5)},
) as dag:
    orders = CeligoRunFlowOperator(
        task_id="run_orders_flow",
        flow_id="{{ params.orders_flow_id }}",
        poll_interval=2,
        timeout=600,
    )
    customers = CeligoRunFlowOperator(
        task_id="run_customers_flow",
        flow_id="{{ params.customers_flow_id }}",
        poll_interval=2,
        timeout=600,
    )
    orders >> customers
