"""Pytest fixtures (and a context manager) that run the local Celigo emulator.

Use in a test suite with ``pytest_plugins = ["airflow_provider_celigo.testing"]``:

- ``celigo_emulator``: a running :class:`EmulatorServer` seeded with the ``demo`` data, a fast
  clock (20 emulated seconds per real second) and page size 3; ``.admin`` is an admin client.
- ``celigo_connection``: points the Airflow connection ``celigo_default`` at that emulator
  through ``AIRFLOW_CONN_CELIGO_DEFAULT`` and returns the connection id.

Outside pytest, ``with running_emulator(clock_speed=50) as server: ...``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator.server import EmulatorServer

try:  # pytest is only needed when the fixtures are used
    import pytest
except ImportError:  # pragma: no cover - the module still offers running_emulator()
    pytest = None  # type: ignore[assignment]

CONN_ID = "celigo_default"
FIXTURE_SETTINGS: dict[str, Any] = {"seed": "demo", "clock_speed": 20.0, "page_size": 3}


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


def connection_uri_json(server: EmulatorServer, concurrency_level: int = 5) -> str:
    """Return the JSON form of an Airflow ``celigo`` connection that targets ``server``."""
    extra = {"base_url": server.base_url, "concurrency_level": concurrency_level}
    return json.dumps({"conn_type": "celigo", "password": server.token, "extra": extra})


if pytest is not None:

    @pytest.fixture
    def celigo_emulator() -> Iterator[EmulatorServer]:
        """A running emulator with the demo seed, clock speed 20 and page size 3."""
        with running_emulator(**FIXTURE_SETTINGS) as server:
            yield server

    @pytest.fixture
    def celigo_connection(celigo_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> str:
        """Set ``AIRFLOW_CONN_CELIGO_DEFAULT`` to the emulator and return the connection id."""
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", connection_uri_json(celigo_emulator))
        return CONN_ID
