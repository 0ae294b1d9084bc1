"""Fixtures for end-to-end tests: a migrated Airflow database per session, a private Airflow home per test,
and the Celigo emulator running in this process.

- ``airflow_template_db`` (session): ``airflow db migrate`` once (~5 s); later homes copy the file (~0.1 s).
- ``airflow_home``: an ``AirflowHome`` (see ``harness.py``) in the test's ``tmp_path``.
- ``emulator``: the local integrator.io (demo seed, clock 20x) in a thread of the pytest process.
- ``celigo_home``: ``airflow_home`` with ``AIRFLOW_CONN_CELIGO_DEFAULT`` pointing at ``emulator``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from airflow_provider_celigo.testing.dags import AirflowHome, migrate_template_db

if TYPE_CHECKING:
    from airflow_provider_celigo.testing.emulator.server import EmulatorServer

DAGS = Path(__file__).parent / "dags"
EMULATOR_CLOCK_SPEED = 20.0


@pytest.fixture(scope="session")
def airflow_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite metadata DB, made once per test session."""
    return migrate_template_db(tmp_path_factory.mktemp("airflow-template"))


@pytest.fixture
def airflow_home(tmp_path: Path, airflow_template_db: Path) -> AirflowHome:
    """A private Airflow home for one test."""
    return AirflowHome(tmp_path / "airflow", airflow_template_db)


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """The Celigo emulator with the demo seed and a fast clock, served from a thread of this process."""
    from airflow_provider_celigo.testing import running_emulator

    with running_emulator(seed="demo", clock_speed=EMULATOR_CLOCK_SPEED) as server:
        yield server


@pytest.fixture
def celigo_home(airflow_home: AirflowHome, emulator: EmulatorServer) -> AirflowHome:
    """``airflow_home`` whose ``celigo_default`` connection targets ``emulator``."""
    from airflow_provider_celigo.testing import connection_json

    airflow_home.set_connection("celigo_default", connection_json(emulator))
    return airflow_home
