"""DAGs that run the emulator's demo flows every way ``CeligoRunFlowOperator`` can, for ``airflow dags test``.

- ``celigo_run_flows``: a synchronous run, a deferrable run, a fire-and-forget run watched by
  ``CeligoJobSensor`` (poke and deferrable), and a flow that fails.
- ``celigo_run_flow_retry``: try 1 starts the long flow and dies while waiting; try 2 must reattach.
- ``celigo_run_flow_deadline``: a deferrable run whose deadline passes first, so its job is canceled.
- ``celigo_three_sources_retry``: as ``celigo_run_flow_retry`` for the flow with three sources (one flow job per
  source): try 2 must reattach to all three.

Polls are short because the emulator runs its clock 20 times faster than real time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
from airflow_provider_celigo.sensors.jobs import CeligoJobSensor
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

START = datetime(2026, 1, 1)
JOB_OF_START_INVENTORY = "{{ ti.xcom_pull(task_ids='start_inventory', key='celigo_job_id') }}"

with DAG("celigo_run_flows", schedule=None, start_date=START, catchup=False, tags=["e2e", "celigo"]):
    run_orders = CeligoRunFlowOperator(task_id="run_orders", flow_id=DEMO_IDS["flow_orders"], poll_interval=0.5)
    run_customers_deferred = CeligoRunFlowOperator(
        task_id="run_customers_deferred", flow_id=DEMO_IDS["flow_customers"], deferrable=True, poll_interval=1
    )
    start_inventory = CeligoRunFlowOperator(
        task_id="start_inventory", flow_id=DEMO_IDS["flow_inventory"], wait_for_completion=False
    )
    wait_inventory = CeligoJobSensor(task_id="wait_inventory", job_id=JOB_OF_START_INVENTORY, poke_interval=0.5)
    wait_inventory_deferred = CeligoJobSensor(
        task_id="wait_inventory_deferred", job_id=JOB_OF_START_INVENTORY, poke_interval=1, deferrable=True
    )
    run_refunds = CeligoRunFlowOperator(task_id="run_refunds", flow_id=DEMO_IDS["flow_refunds"], poll_interval=0.5)

    # The deferrable sensor goes first, while the inventory job still runs, so that it really defers.
    run_orders >> run_customers_deferred >> start_inventory >> wait_inventory_deferred >> wait_inventory
    wait_inventory >> run_refunds


class DiesOnFirstTry(CeligoRunFlowOperator):
    """Starts the flow like its parent, then on try 1 dies before the job ends (as a lost worker would)."""

    def execute(self, context: Any) -> dict[str, Any]:
        self.try_number = context["ti"].try_number
        return super().execute(context)

    def _wait_or_cancel(self, job_id: str, poll_interval: float, deadline: float | None) -> dict[str, Any]:
        if self.try_number == 1:
            raise RuntimeError(f"simulated worker loss while Celigo job {job_id} runs")
        return super()._wait_or_cancel(job_id, poll_interval, deadline)


with DAG("celigo_run_flow_retry", schedule=None, start_date=START, catchup=False, tags=["e2e", "celigo"]):
    DiesOnFirstTry(
        task_id="run_inventory",
        flow_id=DEMO_IDS["flow_inventory"],
        poll_interval=0.5,
        retries=1,
        retry_delay=timedelta(seconds=0),
    )


with DAG("celigo_run_flow_deadline", schedule=None, start_date=START, catchup=False, tags=["e2e", "celigo"]):
    CeligoRunFlowOperator(
        task_id="run_inventory_with_deadline",
        flow_id=DEMO_IDS["flow_inventory"],
        deferrable=True,
        poll_interval=0.5,
        timeout=1.5,
    )


with DAG("celigo_three_sources_retry", schedule=None, start_date=START, catchup=False, tags=["e2e", "celigo"]):
    DiesOnFirstTry(
        task_id="run_storefronts",
        flow_id=DEMO_IDS["flow_storefront_orders"],
        poll_interval=0.5,
        on_errors="warn",
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
