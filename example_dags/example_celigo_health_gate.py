"""Gate a DAG on the health of an integration: run its flows only while its open errors are few.

``CeligoOpenErrorsSensor`` reads integrator.io's open-error roll-up of the integration
(``GET /integrations/{id}/errors``; ``flow_id=`` reads ``GET /flows/{id}/errors`` instead) once per poke.
It succeeds when the open errors are at most ``max_open_errors``; otherwise it waits for them to be resolved
(``on_exceeded="wait"``, here in ``reschedule`` mode so that no worker slot is held) or fails at once
(``on_exceeded="fail"``), naming the worst flows or steps.

Ids: the emulator's demo "Marketing segments" integration and its VIP segment flow. Connection:
``celigo_default``.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DAG

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
from airflow_provider_celigo.sensors.errors import CeligoOpenErrorsSensor

with DAG(dag_id="example_celigo_health_gate", schedule=None, catchup=False, tags=["celigo", "example"]):
    healthy = CeligoOpenErrorsSensor(
        task_id="marketing_integration_healthy",
        integration_id="6650a0000000000000000003",
        max_open_errors=10,
        on_exceeded="wait",
        mode="reschedule",
        poke_interval=60,
        timeout=timedelta(hours=1).total_seconds(),
    )
    vip = CeligoRunFlowOperator(task_id="run_vip_segment_flow", flow_id="6650f0000000000000000021", poll_interval=2)
    healthy >> vip
