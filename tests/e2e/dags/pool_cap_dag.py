"""Mapped Celigo flow runs, half deferrable, in the connection's pool (issue 6, pool cap end-to-end test).

The flow ids come from the run's conf: ``{"deferred_flows": [...], "blocking_flows": [...]}``; either list
may be empty (its mapped task is then skipped). Every run-flow task is in pool ``celigo_celigo_default``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow import __version__ as airflow_version
from airflow.sdk import DAG, task

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

POOL = "celigo_celigo_default"
POLL_SECONDS = 1
# Airflow 3.0's LocalExecutor can start a task before the scheduler has committed it as queued: the start is
# refused (409, "Cannot start Task Instance in invalid state previous_state=scheduled") and the try fails before
# it ran (apache/airflow#52754). What a 3.0 user does about it: one quick retry. The try never ran, so its retry
# starts the flow's one run.
RETRIES = {"retries": 1, "retry_delay": timedelta(seconds=1)} if airflow_version.startswith("3.0.") else {}

with DAG(
    "celigo_pool_cap",
    schedule=None,
    catchup=False,
    max_active_tasks=64,
    params={"deferred_flows": [], "blocking_flows": []},
    tags=["e2e", "celigo"],
    default_args=RETRIES,
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
