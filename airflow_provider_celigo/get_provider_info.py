"""Provider metadata that Airflow discovers through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_celigo import __version__
from airflow_provider_celigo._connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata: hooks, operators, the ``celigo`` connection type and its form."""
    return {
        "package-name": "airflow-provider-celigo",
        "name": "Celigo integrator.io",
        "description": "Run Celigo integrator.io flows, wait on their jobs, clone integrations, manage resources.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Celigo integrator.io",
                "external-doc-url": "https://docs.celigo.com/",
                "tags": ["service"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Celigo integrator.io",
                "python-modules": ["airflow_provider_celigo.hooks.celigo"],
            }
        ],
        "operators": [
            {
                "integration-name": "Celigo integrator.io",
                "python-modules": [
                    "airflow_provider_celigo.operators.flows",
                    "airflow_provider_celigo.operators.integrations",
                    "airflow_provider_celigo.operators.resources",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Celigo integrator.io",
                "python-modules": ["airflow_provider_celigo.sensors.jobs"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Celigo integrator.io",
                "python-modules": ["airflow_provider_celigo.triggers.jobs"],
            }
        ],
        "connection-types": [
            {
                "connection-type": "celigo",
                "hook-class-name": "airflow_provider_celigo.hooks.celigo.CeligoHook",
                "hook-name": "Celigo integrator.io",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
        "extra-links": ["airflow_provider_celigo.links.CeligoJobLink"],
    }
