"""Feed integrator.io from a warehouse step, then run the flow that uses the data.

``extract_sku_map`` stands in for a warehouse query (swap in your SQL hook); its rows are upserted into an
integrator.io lookup cache in batches of at most 1000, the sync watermark is stored in integrator.io state
(where a flow's scripts can read it), and then the flow runs.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
from airflow_provider_celigo.operators.resources import (
    CeligoPutStateOperator,
    CeligoUpsertLookupCacheEntriesOperator,
)

with DAG(
    dag_id="example_celigo_feed_from_warehouse",
    schedule=None,
    catchup=False,
    tags=["celigo", "example"],
    params={"lookup_cache_id": "6650b0000000000000000001", "orders_flow_id": "6650f0000000000000000001"},
) as dag:

    @task
    def extract_sku_map() -> list[dict[str, Any]]:
        """Return SKU -> NetSuite item rows (a warehouse query in real life)."""
        return [{"key": f"SKU-{n:04d}", "value": {"itemId": str(1000 + n)}} for n in range(2500)]

    upsert = CeligoUpsertLookupCacheEntriesOperator(
        task_id="upsert_sku_map", lookup_cache_id="{{ params.lookup_cache_id }}", entries=extract_sku_map()
    )
    watermark = CeligoPutStateOperator(
        task_id="store_watermark",
        key="orders_last_sync",
        value={"synced_until": "{{ data_interval_end or logical_date or ts }}", "run_id": "{{ run_id }}"},
    )
    run = CeligoRunFlowOperator(task_id="run_orders_flow", flow_id="{{ params.orders_flow_id }}", poll_interval=2)

    upsert >> watermark >> run
