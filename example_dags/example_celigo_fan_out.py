"""Fan out: run every enabled flow of an integration at once with dynamic task mapping.

The mapped tasks go to the Celigo connection's pool, ``celigo_celigo_default``, so no more of them run (or
wait deferred) at once than the connection's ``concurrency_level``. Create or resize that pool with
``airflow-celigo pools sync`` before the first run: Airflow never schedules a task whose pool does not exist.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

with DAG(
    dag_id="example_celigo_fan_out",
    schedule=None,
    catchup=False,
    tags=["celigo", "example"],
    params={"integration_id": "6650a0000000000000000003"},
) as dag:

    @task
    def enabled_flows(**context: Any) -> list[str]:
        """Return the ids of the integration's enabled flows."""
        from airflow_provider_celigo.hooks.celigo import CeligoHook

        flows = CeligoHook().list_resources("flows", integration_id=context["params"]["integration_id"])
        return [flow["_id"] for flow in flows if not flow.get("disabled")]

    runs = CeligoRunFlowOperator.partial(
        task_id="run_flow",
        pool="celigo_celigo_default",
        deferrable=True,
        poll_interval=2,
        timeout=3600,
    ).expand(flow_id=enabled_flows())

    @task
    def total_records(summaries: list[dict[str, Any]]) -> int:
        """Return the number of records the runs moved."""
        return sum(summary["num_success"] for summary in summaries)

    total_records(runs.output)
