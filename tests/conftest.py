"""Shared test set-up: a private AIRFLOW_HOME, and Celigo connections as environment variables."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# Airflow reads its configuration at import time, so the private home must exist before any import of it.
_HOME = tempfile.mkdtemp(prefix="celigo-tests-airflow-")
os.environ.setdefault("AIRFLOW_HOME", _HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")

TEST_TOKEN = "test-token-4f9c2b7e1d"


@pytest.fixture
def celigo_conn(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    """Return a function that defines a Celigo connection through ``AIRFLOW_CONN_<ID>``; returns the id.

    Usage: ``celigo_conn("celigo_default", region="eu", concurrency_level=3)``; ``password=`` overrides the token.
    """

    def define(
        conn_id: str = "celigo_default", password: Any = TEST_TOKEN, conn_type: str = "celigo", **extra: Any
    ) -> str:
        payload = {"conn_type": conn_type, "password": password, "extra": extra}
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(payload))
        return conn_id

    yield define


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Print the figures the tests of this session measured (tests/figures.py), one section each."""
    from figures import summary_sections

    for section, lines in summary_sections().items():
        terminalreporter.write_sep("=", section)
        for line in lines:
            terminalreporter.write_line(line)
