"""The test kit: the local integrator.io emulator, pytest fixtures and the ``airflow dags test`` harness.

Needs the ``emulator`` extra (``pip install "airflow-provider-celigo[emulator]"``). Production code never
imports this package.

- ``testing.emulator``: the emulator itself (``celigo-emulator``, ``EmulatorServer``, its admin client).
- ``testing.fixtures``: ``celigo_emulator`` and ``celigo_connection`` fixtures, ``running_emulator()``;
  enable them with ``pytest_plugins = ["airflow_provider_celigo.testing"]``.
- ``testing.dags``: ``AirflowHome``, which runs ``airflow dags test`` in a private Airflow home.
"""

from __future__ import annotations

import contextlib

from airflow_provider_celigo.testing.fixtures import (
    CONN_ID,
    FAST_DAG_TEST_ENV,
    FIXTURE_SETTINGS,
    celigo_airflow_home_for,
    connection_json,
    connection_uri_json,
    running_emulator,
)

with contextlib.suppress(ImportError):  # the fixtures exist only where pytest is installed
    from airflow_provider_celigo.testing.fixtures import (
        celigo_airflow_db,
        celigo_airflow_home,
        celigo_connection,
        celigo_emulator,
    )

__all__ = [
    "CONN_ID",
    "FAST_DAG_TEST_ENV",
    "FIXTURE_SETTINGS",
    "celigo_airflow_db",
    "celigo_airflow_home",
    "celigo_airflow_home_for",
    "celigo_connection",
    "celigo_emulator",
    "connection_json",
    "connection_uri_json",
    "running_emulator",
]
