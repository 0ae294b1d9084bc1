"""Airflow test APIs that moved between 3.0 and 3.3, for tests that run on every supported line (CI's matrix).

The provider's own moved names are in ``airflow_provider_celigo._compat``; this module holds what only the tests
use: the exceptions a task raises to defer, skip or reschedule, and DAG serialization. Import it as
``from airflow_compat import ...`` (``tests/`` is on ``sys.path``: pytest puts the folder of the root
``conftest.py`` there).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_celigo._compat import AIRFLOW_VERSION  # the running Airflow's (major, minor), e.g. (3, 0)

if TYPE_CHECKING:
    from airflow.sdk.exceptions import (
        AirflowRescheduleException,
        AirflowSensorTimeout,
        AirflowSkipException,
        TaskDeferred,
    )
else:
    try:
        from airflow.sdk.exceptions import (
            AirflowRescheduleException,
            AirflowSensorTimeout,
            AirflowSkipException,
            TaskDeferred,
        )
    except ImportError:  # Airflow 3.0 and 3.1: in airflow.sdk.exceptions from 3.2 on
        from airflow.exceptions import (
            AirflowRescheduleException,
            AirflowSensorTimeout,
            AirflowSkipException,
            TaskDeferred,
        )


def serialization_round_trip(dag: Any) -> Any:
    """Return ``dag`` serialized the way the scheduler stores it and read back (DagSerialization from 3.2)."""
    try:
        from airflow.serialization.serialized_objects import DagSerialization as serializer
    except ImportError:  # Airflow 3.0 and 3.1
        from airflow.serialization.serialized_objects import SerializedDAG as serializer
    return serializer.from_dict(serializer.to_dict(dag))


__all__ = [
    "AIRFLOW_VERSION",
    "AirflowRescheduleException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "TaskDeferred",
    "serialization_round_trip",
]
