"""Helpers shared by the job-model tests: restoring the job-model settings, reading job times."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from airflow_provider_celigo.testing.emulator.client import EmulatorAdmin
from airflow_provider_celigo.testing.emulator.config import EmulatorConfig

JOB_MODEL_KEYS = (
    "honour_export_ids",
    "refuse_disabled_runs",
    "queue_lag_seconds",
    "finalize_seconds",
    "chain_delay_seconds",
    "run_schedules",
)


@pytest.fixture(autouse=True)
def job_model_defaults(admin: EmulatorAdmin) -> Iterator[None]:
    """Start and leave every test with the default job-model settings (the shared fixture does not reset them)."""
    defaults = {key: getattr(EmulatorConfig(), key) for key in JOB_MODEL_KEYS}
    admin.configure(**defaults)
    yield
    admin.configure(**defaults)


def seconds(value: str) -> float:
    """Return an ISO-8601 job time as epoch seconds."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
