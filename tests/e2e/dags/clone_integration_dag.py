"""Onboard a customer: clone the onboarding template with the customer's connections, run the cloned flows,
then remove the clone (it stays in integrator.io's recycle bin for 30 days).

The ids are the emulator's demo seed: template integration ``...a...0002`` whose flows use the Shopify
(``...c...0001``) and NetSuite (``...c...0002``) connections, mapped to Acme's (``...0004``, ``...0005``).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
from airflow_provider_celigo.operators.integrations import CeligoCloneIntegrationOperator
from airflow_provider_celigo.operators.resources import CeligoDeleteResourceOperator, CeligoPingConnectionOperator

TEMPLATE_INTEGRATION = "6650a0000000000000000002"
CONNECTION_MAP = {
    "6650c0000000000000000001": "6650c0000000000000000004",  # Shopify -> Acme Shopify
    "6650c0000000000000000002": "6650c0000000000000000005",  # NetSuite -> Acme NetSuite
}

with DAG(
    "celigo_clone_integration",
    schedule=None,
    catchup=False,
    params={"customer": "Acme"},
    tags=["celigo", "e2e"],
):
    preflight = CeligoPingConnectionOperator.partial(task_id="ping_customer_connection").expand(
        connection_id=list(CONNECTION_MAP.values())
    )

    clone = CeligoCloneIntegrationOperator(
        task_id="clone_template",
        source_id=TEMPLATE_INTEGRATION,
        name="{{ params.customer }} onboarding",
        connection_map=CONNECTION_MAP,
        tag="{{ params.customer }}",
        enable_flows=True,
    )

    @task
    def cloned_flow_ids(result: dict[str, Any]) -> list[str]:
        return list(result["flow_ids"])

    @task
    def snapshot_clone(result: dict[str, Any]) -> dict[str, Any]:
        """Record which connections the clone uses, while it exists."""
        from airflow_provider_celigo._documents import flow_steps
        from airflow_provider_celigo.hooks.celigo import CeligoHook

        hook = CeligoHook()
        integration = hook.get_resource("integrations", result["integration_id"])
        steps: dict[str, str] = {}
        for flow_id in result["flow_ids"]:
            for kind, step_id in flow_steps(hook.get_resource("flows", flow_id)):
                steps[step_id] = hook.get_resource(kind, step_id)["_connectionId"]
        return {
            "integration_id": integration["_id"],
            "name": integration["name"],
            "registered_connections": integration.get("_registeredConnectionIds", []),
            "step_connections": steps,
        }

    runs = CeligoRunFlowOperator.partial(task_id="run_cloned_flow", poll_interval=0.5, timeout=120).expand(
        flow_id=cloned_flow_ids(clone.output)
    )

    remove = CeligoDeleteResourceOperator(
        task_id="delete_clone",
        resource_type="integrations",
        resource_id="{{ ti.xcom_pull(task_ids='clone_template', key='integration_id') }}",
    )

    preflight >> clone
    [runs, snapshot_clone(clone.output)] >> remove
