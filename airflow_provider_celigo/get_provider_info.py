"""Provider metadata that Airflow discovers through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from airflow_provider_celigo import __version__
from airflow_provider_celigo._connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR

__all__ = ["get_provider_info"]

#: The version that introduced the ``[celigo]`` options (``version_added`` in Airflow's config schema).
CONFIG_VERSION_ADDED = "0.1.0"

#: Airflow config section ``[celigo]`` (env ``AIRFLOW__CELIGO__<OPTION>``), in the form of the provider_info schema.
CONFIG: dict[str, Any] = {
    "celigo": {
        "description": "Options of the Celigo integrator.io provider: pools of Celigo connections and 429 pacing.",
        "options": {
            "synced_pools": {
                "description": (
                    "Pools that exist in this deployment, which celigo_pool_policy may put Celigo tasks into: pool "
                    "names separated by commas, or * once 'airflow-celigo pools sync' runs in the deployment "
                    "pipeline (it prints the value to set). Empty: the policy changes no task's pool, so tasks run "
                    "in default_pool instead of waiting for a pool that does not exist."
                ),
                "version_added": CONFIG_VERSION_ADDED,
                "type": "string",
                "example": "celigo_celigo_default,celigo_celigo_eu",
                "default": "",
            },
            "pool_overrides": {
                "description": (
                    "Loans of concurrency the pool policy cannot see without a connection look-up: "
                    "borrower=lender pairs of Celigo connection ids, separated by commas ('airflow-celigo pools "
                    "sync' prints them). Tasks of a borrower go to the lender's pool."
                ),
                "version_added": CONFIG_VERSION_ADDED,
                "type": "string",
                "example": "celigo_reports=celigo_default",
                "default": "",
            },
            "pace_after_429": {
                "description": (
                    "Whether every caller in the process (threads and coroutines) that calls the same integrator.io "
                    "account pauses after a 429 answer until its Retry-After has passed, instead of each caller "
                    "meeting its own 429 first."
                ),
                "version_added": CONFIG_VERSION_ADDED,
                "type": "boolean",
                "example": "False",
                "default": "True",
            },
            "default_poll_interval": {
                "description": (
                    "Seconds between job polls of Celigo run operators that set no poll_interval, and the default "
                    "poke_interval of the Celigo sensors. DAG tests against the local emulator set it to 1."
                ),
                "version_added": CONFIG_VERSION_ADDED,
                "type": "float",
                "example": "1",
                "default": "30",
            },
        },
    }
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata: hooks, operators, sensors, triggers, the ``celigo`` connection type and its
    form, the extra link and the ``[celigo]`` config options."""
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
                    "airflow_provider_celigo.operators.account",
                    "airflow_provider_celigo.operators.audit",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Celigo integrator.io",
                "python-modules": ["airflow_provider_celigo.sensors.jobs", "airflow_provider_celigo.sensors.errors"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Celigo integrator.io",
                "python-modules": ["airflow_provider_celigo.triggers.jobs", "airflow_provider_celigo.triggers.events"],
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
        "asset-uris": [
            {
                "schemes": ["celigo"],
                "handler": "airflow_provider_celigo.assets.normalize_celigo_uri",
                "to_openlineage_converter": "airflow_provider_celigo.assets.to_openlineage_dataset",
            }
        ],
        "config": CONFIG,
    }
