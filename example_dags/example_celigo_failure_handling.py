"""How a DAG sees flows that go wrong.

"Invoices to NetSuite" completes with a few record errors (``numError > 0``). Three tasks run it under the
three error policies: ``warn`` succeeds and logs the errors, ``max_errors=10`` succeeds because the errors stay
under the threshold, ``fail`` fails the task. "Refunds to NetSuite" fails outright: its task retries once and
then fails, with the failing step's errors in the task log. The last task runs whatever happened
(``trigger_rule="all_done"``) and reports the outcome of each attempt.

In the demo, ``invoices_policy_fail`` and ``refunds_fail_with_retry`` are the expected failures.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

with DAG(
    dag_id="example_celigo_failure_handling",
    schedule=None,
    catchup=False,
    tags=["celigo", "example"],
    params={"invoices_flow_id": "6650f0000000000000000004", "refunds_flow_id": "6650f0000000000000000005"},
) as dag:
    warn = CeligoRunFlowOperator(
        task_id="invoices_policy_warn", flow_id="{{ params.invoices_flow_id }}", on_errors="warn", poll_interval=2
    )
    threshold = CeligoRunFlowOperator(
        task_id="invoices_policy_threshold", flow_id="{{ params.invoices_flow_id }}", max_errors=10, poll_interval=2
    )
    fail = CeligoRunFlowOperator(
        task_id="invoices_policy_fail", flow_id="{{ params.invoices_flow_id }}", on_errors="fail", poll_interval=2
    )
    refunds = CeligoRunFlowOperator(
        task_id="refunds_fail_with_retry",
        flow_id="{{ params.refunds_flow_id }}",
        poll_interval=2,
        retries=1,
        retry_delay=timedelta(seconds=2),
        trigger_rule="all_done",  # runs after the expected failure above
    )

    @task(trigger_rule="all_done")
    def report(**context: Any) -> dict[str, Any]:
        """Return each run's job id and summary as pushed to XCom (present even for failed tasks)."""
        ti = context["ti"]
        names = ["invoices_policy_warn", "invoices_policy_threshold", "invoices_policy_fail", "refunds_fail_with_retry"]
        return {name: ti.xcom_pull(task_ids=name, key="celigo_job_id") for name in names}

    # Sequential, because integrator.io runs one job per flow at a time and queues the rest.
    warn >> threshold >> fail >> refunds >> report()
