"""DAGs over the emulator's flows with several sources (one flow job per source and run), for ``airflow dags test``.

- ``celigo_three_sources``: the three-source flow run synchronously and deferred.
- ``celigo_three_sources_deadline``: a deferred run whose deadline passes while all three jobs run.
- ``celigo_three_sources_retry`` (in run_flows_dag.py, beside the operator that dies on try 1): try 1 starts
  the run and dies while waiting; try 2 must reattach to all three.
- ``celigo_chained_integration``: an integration's flows, one of which chains to another.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator, CeligoRunIntegrationFlowsOperator
from airflow_provider_celigo.testing.emulator.seeds import DEMO_IDS

START = datetime(2026, 1, 1)
FLOW = DEMO_IDS["flow_storefront_orders"]

with DAG("celigo_three_sources", schedule=None, start_date=START, catchup=False, tags=["e2e", "celigo"]):
    sync = CeligoRunFlowOperator(task_id="run_sync", flow_id=FLOW, poll_interval=0.5, on_errors="warn")
    deferred = CeligoRunFlowOperator(
        task_id="run_deferred", flow_id=FLOW, poll_interval=0.5, on_errors="warn", deferrable=True
    )
    sync >> deferred


with DAG("celigo_three_sources_deadline", schedule=None, start_date=START, catchup=False, tags=["e2e", "celigo"]):
    CeligoRunFlowOperator(task_id="run_with_deadline", flow_id=FLOW, deferrable=True, poll_interval=0.5, timeout=3)


with DAG("celigo_chained_integration", schedule=None, start_date=START, catchup=False, tags=["e2e", "celigo"]):
    CeligoRunIntegrationFlowsOperator(
        task_id="run_storefronts_integration",
        integration_id=DEMO_IDS["integration_storefronts"],
        poll_interval=0.5,
        on_errors="warn",
    )
