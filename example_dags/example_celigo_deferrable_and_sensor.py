"""Wait on long flows without holding a worker slot.

* ``run_inventory_sync`` runs a long flow deferrable: the worker starts the run, then the triggerer polls the job.
* ``start_orders`` starts a flow and returns at once (fire and forget); ``wait_for_orders`` waits on that job
  with the sensor, here in deferrable mode too. The job id comes from the XCom the run operator pushes.
"""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
from airflow_provider_celigo.sensors.jobs import CeligoJobSensor

with DAG(
    dag_id="example_celigo_deferrable_and_sensor",
    schedule=None,
    catchup=False,
    tags=["celigo", "example"],
    params={"inventory_flow_id": "6650f0000000000000000003", "orders_flow_id": "6650f0000000000000000001"},
) as dag:
    CeligoRunFlowOperator(
        task_id="run_inventory_sync",
        flow_id="{{ params.inventory_flow_id }}",
        deferrable=True,
        poll_interval=2,
        timeout=3600,
    )
    start_orders = CeligoRunFlowOperator(
        task_id="start_orders",
        flow_id="{{ params.orders_flow_id }}",
        wait_for_completion=False,
    )
    wait_for_orders = CeligoJobSensor(
        task_id="wait_for_orders",
        job_id="{{ ti.xcom_pull(task_ids='start_orders', key='celigo_job_id') }}",
        deferrable=True,
        poke_interval=2,
        timeout=3600,
    )
    start_orders >> wait_for_orders
