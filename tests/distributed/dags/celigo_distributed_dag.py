"""Mapped Celigo flow runs, half deferrable, in the connection's pool, with retries (distributed deployment test).

The flow ids come from the run's conf: ``{"deferred_flows": [...], "blocking_flows": [...]}``; either list may
be empty (its mapped task is then skipped). Retries let a task whose worker host died run again elsewhere.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

POOL = "celigo_celigo_default"
POLL_SECONDS = 1

with DAG(
    "celigo_distributed",
    schedule=None,
    catchup=False,
    max_active_tasks=64,
    params={"deferred_flows": [], "blocking_flows": []},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=5)},
    tags=["e2e", "celigo", "distributed"],
):

    @task
    def flow_ids(kind: str, **context: Any) -> list[str]:
        """Return the flow ids of one kind from the run's params."""
        return [str(flow_id) for flow_id in context["params"][kind]]

    CeligoRunFlowOperator.partial(
        task_id="run_deferred", deferrable=True, poll_interval=POLL_SECONDS, pool=POOL, priority_weight=10
    ).expand(flow_id=flow_ids.override(task_id="deferred_flows")("deferred_flows"))

    CeligoRunFlowOperator.partial(
        task_id="run_blocking", deferrable=False, poll_interval=POLL_SECONDS, pool=POOL
    ).expand(flow_id=flow_ids.override(task_id="blocking_flows")("blocking_flows"))
