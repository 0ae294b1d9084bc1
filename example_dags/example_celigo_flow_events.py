"""Run a DAG after every run of an integrator.io flow, whoever started it: integrator.io's own schedule, a
person pressing Run, a chained flow, or another DAG.

``celigo_flow_runs_asset`` is the asset ``celigo://<API host>/flows/<flow id>/runs``, watched by a
``CeligoFlowRunEventTrigger`` in the triggerer (event-driven scheduling needs a scheduler and a triggerer;
``airflow dags test`` runs only the DAG's tasks). Each run that ends ``completed`` is one asset event, whose
payload is the run's summary: its flow job ids (one per source), status and counts. Every watcher of one
connection shares one ``GET /jobs`` listing per poll; on Airflow 3.3 the watcher's cursor lives in the asset
state store, so a triggerer restart neither repeats nor misses a run.

The flow id is the local emulator's demo "Orders to NetSuite" flow (``celigo-emulator --seed demo``).
Connection: ``celigo_default`` (read when the DAG is parsed, for the API host of the asset).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_celigo.assets import celigo_flow_runs_asset

ORDERS_FLOW_ID = "6650f0000000000000000001"
orders_runs = celigo_flow_runs_asset(ORDERS_FLOW_ID, poll_interval=15)

with DAG(
    dag_id="example_celigo_flow_events",
    schedule=[orders_runs],
    catchup=False,
    tags=["celigo", "example"],
) as dag:

    @task
    def report_runs(**context: Any) -> list[dict[str, Any]]:
        """Return the summary of each flow run that triggered this DAG run (none under ``airflow dags test``)."""
        events = context["triggering_asset_events"]
        runs = [event.extra.get("payload", {}) for asset in events for event in events[asset]]
        for run in runs:
            print(f"Celigo run {run.get('job_ids')}: {run.get('status')}, {run.get('num_success')} records")
        return runs

    report_runs()
