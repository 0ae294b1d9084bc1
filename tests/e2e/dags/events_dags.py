"""DAGs of the events deployment test (tests/e2e/test_events_deployment.py).

- ``celigo_watch_orders``: scheduled on every run of the orders flow, whoever starts it (the watcher asset,
  polled every second); its task returns the payloads of the asset events that triggered it.
- ``celigo_run_customers``: runs the customers flow (declares its flow asset by default).
- ``celigo_after_customers``: scheduled on that flow asset; returns the extras of the events that triggered it.
- ``celigo_watch_many``: 49 more watchers on the same connection (flows that never run), so that the
  triggerer holds 50 watchers in all: they must share one ``GET /jobs`` listing per round.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_celigo.assets import celigo_flow_asset, celigo_flow_runs_asset
from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

START = datetime(2026, 1, 1)
ORDERS_RUNS = celigo_flow_runs_asset(DEMO_IDS["flow_orders"], poll_interval=1)
CUSTOMERS = celigo_flow_asset(DEMO_IDS["flow_customers"])
MANY_FLOWS = [f"6653f{n:019x}" for n in range(49)]  # 49 flows that never run (and need not exist)


@task
def triggering_extras(**context: Any) -> list[dict[str, Any]]:
    """Return the extra of every asset event that triggered this DAG run."""
    events = context["triggering_asset_events"]
    return [dict(event.extra) for asset in events for event in events[asset]]


with DAG("celigo_watch_orders", schedule=[ORDERS_RUNS], start_date=START, catchup=False, tags=["e2e"]):
    triggering_extras()

with DAG("celigo_run_customers", schedule=None, start_date=START, catchup=False, tags=["e2e"]):
    CeligoRunFlowOperator(task_id="run_customers", flow_id=DEMO_IDS["flow_customers"], poll_interval=0.5)

with DAG("celigo_after_customers", schedule=[CUSTOMERS], start_date=START, catchup=False, tags=["e2e"]):
    triggering_extras()

with DAG(
    "celigo_watch_many",
    schedule=[celigo_flow_runs_asset(flow_id, poll_interval=1) for flow_id in MANY_FLOWS],
    start_date=START,
    catchup=False,
    tags=["e2e"],
):
    triggering_extras()
