"""Crash-and-restart DAG of the reliability suite (``tests/reliability/test_crash_and_restart.py``).

Three kinds of run-flow tasks, all on flows the test creates in the emulator with long jobs, started by one
DAG run so the three interventions share one real deployment:

* ``worker_killed``: waits in a worker (sync), has one retry; the test SIGKILLs its task process while it
  waits, and the retry must reattach to the job of the first try.
* ``deferred``: mapped over ``conf["deferred_flows"]``, deferrable; the test restarts the triggerer while
  they are deferred, and they must still complete.
* ``marked_failed``: deferrable; the test marks it failed while it is deferred (as the UI or REST API does),
  and the trigger's ``on_kill`` must cancel its job.
* ``killed_after_request``: a quick flow; the test SIGKILLs the task process after ``POST /run`` was handled
  and before its answer (held by the emulator) arrives, so the job id is never saved; the flow ends before
  the retry starts, which must find that ended run instead of starting a second one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator

with DAG(
    dag_id="celigo_reliability_crash",
    schedule=None,
    catchup=False,
    max_active_tasks=16,
    tags=["celigo", "reliability"],
) as dag:
    CeligoRunFlowOperator(
        task_id="worker_killed",
        flow_id="{{ dag_run.conf['kill_flow'] }}",
        deferrable=False,
        poll_interval=1,
        timeout=900,
        retries=1,
        retry_delay=timedelta(seconds=1),
    )

    @task
    def deferred_flows(**context: Any) -> list[str]:
        """Return the flows of the deferred tasks, from the run's conf."""
        return list(context["dag_run"].conf["deferred_flows"])

    CeligoRunFlowOperator.partial(
        task_id="deferred",
        deferrable=True,
        poll_interval=1,
        timeout=900,
    ).expand(flow_id=deferred_flows())
    CeligoRunFlowOperator(
        task_id="killed_after_request",
        flow_id="{{ dag_run.conf['request_kill_flow'] }}",
        deferrable=False,
        poll_interval=1,
        timeout=900,
        retries=1,
        retry_delay=timedelta(seconds=5),
    )
    CeligoRunFlowOperator(
        task_id="marked_failed",
        flow_id="{{ dag_run.conf['cancel_flow'] }}",
        deferrable=True,
        poll_interval=1,
        timeout=900,
    )
