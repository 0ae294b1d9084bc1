"""Deploy an embedded integration for a new customer.

1. Check that the customer's connections in integrator.io are online (a pre-flight ping).
2. Clone the template integration, mapping each template connection to the customer's own one, and enable the
   cloned flows.
3. Register the customer's connections with the new integration (``PUT /integrations/{id}/connections/register``;
   the endpoint comes from the integrator.io UI and the official CLI, confidence M), so that they show up as the
   integration's own in integrator.io.
4. Run every cloned flow (dynamic task mapping) and wait for its job.
5. Report the job summaries and the registered connections.

The ids default to the emulator's demo account; the ``connection_map`` param maps template connection ids to
the customer's connection ids.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_celigo.operators.account import CeligoRegisterConnectionsOperator
from airflow_provider_celigo.operators.flows import CeligoRunFlowOperator
from airflow_provider_celigo.operators.integrations import CeligoCloneIntegrationOperator
from airflow_provider_celigo.operators.resources import CeligoPingConnectionOperator

with DAG(
    dag_id="example_celigo_deploy_integration",
    schedule=None,
    catchup=False,
    tags=["celigo", "example"],
    params={
        "customer": "Acme",
        "template_integration_id": "6650a0000000000000000002",
        "connection_map": {
            "6650c0000000000000000001": "6650c0000000000000000004",  # template Shopify -> Acme Shopify
            "6650c0000000000000000002": "6650c0000000000000000005",  # template NetSuite -> Acme NetSuite
        },
    },
    render_template_as_native_obj=True,
) as dag:

    @task
    def customer_connections(**context: Any) -> list[str]:
        """Return the customer's connection ids: the values of the connection map."""
        return list(context["params"]["connection_map"].values())

    connections = customer_connections()
    preflight = CeligoPingConnectionOperator.partial(task_id="ping_customer_connection").expand(
        connection_id=connections
    )

    clone = CeligoCloneIntegrationOperator(
        task_id="clone_template",
        source_id="{{ params.template_integration_id }}",
        name="{{ params.customer }} integration",
        connection_map="{{ params.connection_map }}",
        tag="{{ params.customer }}",
        enable_flows=True,
    )

    register = CeligoRegisterConnectionsOperator(
        task_id="register_customer_connections",
        integration_id="{{ ti.xcom_pull(task_ids='clone_template')['integration_id'] }}",
        connection_ids=connections,
    )

    @task
    def cloned_flow_ids(clone_result: dict[str, Any]) -> list[str]:
        """Return the ids of the cloned flows (the clone operator's return value carries them)."""
        return list(clone_result["flow_ids"])

    runs = CeligoRunFlowOperator.partial(task_id="run_cloned_flow", poll_interval=2, timeout=1800).expand(
        flow_id=cloned_flow_ids(clone.output)
    )

    @task
    def report(
        summaries: list[dict[str, Any]], clone_result: dict[str, Any], registration: dict[str, Any]
    ) -> dict[str, Any]:
        """Return the new integration id, its registered connections and one line per job."""
        lines = [
            f"{s['flow_id']}: {s['status']}, {s['num_success']} records, {s['num_error']} errors" for s in summaries
        ]
        lines.append("registered connections: " + ", ".join(registration["registered_connection_ids"]))
        for line in lines:
            print(line)
        return {
            "integration_id": clone_result["integration_id"],
            "registered_connection_ids": list(registration["registered_connection_ids"]),
            "jobs": list(summaries),
        }

    preflight >> clone >> register >> runs
    report(runs.output, clone.output, register.output)
