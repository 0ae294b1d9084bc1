"""Pytest fixtures (and a context manager) that run the local Celigo emulator.

Use in a test suite with ``pytest_plugins = ["airflow_provider_celigo.testing"]``:

- ``celigo_emulator``: a running :class:`EmulatorServer` seeded with the ``demo`` data, a fast
  clock (20 emulated seconds per real second) and page size 3; ``.admin`` is an admin client.
- ``celigo_connection``: points the Airflow connection ``celigo_default`` at that emulator
  through ``AIRFLOW_CONN_CELIGO_DEFAULT`` and returns the connection id (for hook and ``@task`` code
  run in the test process).
- ``celigo_airflow_home``: an :class:`~airflow_provider_celigo.testing.dags.AirflowHome` (a private Airflow
  home for ``airflow dags test``) whose ``celigo_default`` connection targets ``celigo_emulator``, tuned for
  fast DAG tests: ``[celigo] default_poll_interval`` 1 s. Its metadata database is a copy of one migrated
  per test session (``celigo_airflow_db``), so many DAG tests do not each migrate (~0.1 s instead of ~5 s).

Outside pytest, ``with running_emulator(clock_speed=50) as server: ...``.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .dags import AirflowHome
    from .emulator.server import EmulatorServer

try:  # pytest is only needed when the fixtures are used
    import pytest
except ImportError:  # pragma: no cover - the module still offers running_emulator()
    pytest = None  # type: ignore[assignment]

__all__ = [
    "CONN_ID",
    "FAST_DAG_TEST_ENV",
    "FIXTURE_SETTINGS",
    "celigo_airflow_home_for",
    "connection_json",
    "connection_uri_json",
    "running_emulator",
]

CONN_ID = "celigo_default"
FIXTURE_SETTINGS: dict[str, Any] = {"seed": "demo", "clock_speed": 20.0, "page_size": 3}
#: Airflow settings of ``celigo_airflow_home``: poll the emulator's fast jobs every second.
FAST_DAG_TEST_ENV = {"AIRFLOW__CELIGO__DEFAULT_POLL_INTERVAL": "1"}


@contextmanager
def running_emulator(**settings: Any) -> Iterator[EmulatorServer]:
    """Yield a started emulator (demo seed unless ``seed=None``) and stop it afterwards.

    ``settings`` are :class:`EmulatorConfig` fields plus ``host`` and ``port``.
    """
    from .emulator.config import EmulatorConfig
    from .emulator.server import EmulatorServer

    host = settings.pop("host", "127.0.0.1")
    port = settings.pop("port", 0)
    settings.setdefault("seed", "demo")
    server = EmulatorServer(EmulatorConfig(**settings), host=host, port=port)
    with server:
        yield server


def connection_json(server: EmulatorServer, concurrency_level: int = 5, **extra: Any) -> str:
    """Return an Airflow ``celigo`` connection that targets ``server``, as the JSON that ``AIRFLOW_CONN_<ID>``
    and ``AirflowHome.set_connection`` take; ``extra`` adds connection extras (``max_retries=0`` ...)."""
    extras = {"base_url": server.base_url, "concurrency_level": concurrency_level, **extra}
    return json.dumps({"conn_type": "celigo", "password": server.token, "extra": extras})


def connection_uri_json(server: EmulatorServer, concurrency_level: int = 5) -> str:
    """Deprecated name of ``connection_json`` (it returns JSON, not a URI)."""
    warnings.warn("connection_uri_json is now connection_json", DeprecationWarning, stacklevel=2)
    return connection_json(server, concurrency_level)


def celigo_airflow_home_for(
    root: Path, template_db: Path, server: EmulatorServer, conn_id: str = CONN_ID, **env: str
) -> AirflowHome:
    """Return a private Airflow home under ``root`` whose ``conn_id`` targets ``server``, set up for fast DAG
    tests (``FAST_DAG_TEST_ENV``, overridable through ``env``)."""
    from .dags import AirflowHome

    home = AirflowHome(root, template_db, env={**FAST_DAG_TEST_ENV, **env})
    home.set_connection(conn_id, connection_json(server))
    return home


if pytest is not None:
    __all__ += ["celigo_airflow_db", "celigo_airflow_home", "celigo_connection", "celigo_emulator"]

    @pytest.fixture
    def celigo_emulator() -> Iterator[EmulatorServer]:
        """A running emulator with the demo seed, clock speed 20 and page size 3."""
        with running_emulator(**FIXTURE_SETTINGS) as server:
            yield server

    @pytest.fixture
    def celigo_connection(celigo_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> str:
        """Set ``AIRFLOW_CONN_CELIGO_DEFAULT`` to the emulator and return the connection id."""
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_json(celigo_emulator))
        return CONN_ID

    @pytest.fixture(scope="session")
    def celigo_airflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
        """A migrated SQLite Airflow metadata database, made once per test session (``airflow db migrate``)."""
        from .dags import migrate_template_db

        return migrate_template_db(tmp_path_factory.mktemp("celigo-airflow-db"))

    @pytest.fixture
    def celigo_airflow_home(tmp_path: Path, celigo_airflow_db: Path, celigo_emulator: EmulatorServer) -> AirflowHome:
        """A private Airflow home whose ``celigo_default`` targets ``celigo_emulator``; see the module docstring."""
        return celigo_airflow_home_for(tmp_path / "airflow", celigo_airflow_db, celigo_emulator)
