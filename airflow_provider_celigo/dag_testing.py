"""Deprecated: moved to ``airflow_provider_celigo.testing.dags`` (this alias goes in the next release)."""

from __future__ import annotations

import warnings

from airflow_provider_celigo.testing.dags import *  # noqa: F403
from airflow_provider_celigo.testing.dags import AirflowHome, DagTestResult, TaskResult, migrate_template_db

warnings.warn(
    "airflow_provider_celigo.dag_testing moved to airflow_provider_celigo.testing.dags",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["AirflowHome", "DagTestResult", "TaskResult", "migrate_template_db"]
