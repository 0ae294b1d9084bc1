"""Run one integrator.io flow, wait for its job, then run a second flow that depends on it, and a flow with
three sources (one flow job per source: the task waits for all three and returns their ids in ``job_ids``).

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
    params={
        "orders_flow_id": "6650f0000000000000000001",
        "customers_flow_id": "6650f0000000000000000002",
        "storefronts_flow_id": "6650f0000000000000000031",
    },
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
    storefronts = CeligoRunFlowOperator(
        task_id="run_storefront_orders_flow",
        flow_id="{{ params.storefronts_flow_id }}",
        poll_interval=2,
        timeout=600,
        max_errors=5,  # a few rejected orders are expected: fail only above five record errors
    )
    orders >> [customers, storefronts]
