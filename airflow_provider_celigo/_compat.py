"""The one place that imports Airflow names that moved between Airflow 3.0 and 3.3.

Each name is taken from the Task SDK (``airflow.sdk``) where the newest Airflow keeps it, and from
where the older 3.x line kept it otherwise; the comment on each fallback names the version that moved it.
Everything else the provider needs from Airflow (``BaseOperator``, ``BaseSensorOperator``,
``PokeReturnValue``, ``BaseOperatorLink``, ``BaseTrigger``, ``TriggerEvent``) is where it is on every 3.x.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from airflow import __version__ as _airflow_version

if TYPE_CHECKING:
    from airflow.sdk import BaseHook, conf
    from airflow.sdk.exceptions import AirflowException, AirflowSensorTimeout
else:
    try:
        from airflow.sdk.exceptions import AirflowException
    except ImportError:  # Airflow 3.0: the Task SDK re-exports it from 3.1 on
        from airflow.exceptions import AirflowException

    try:
        from airflow.sdk.exceptions import AirflowSensorTimeout
    except ImportError:  # Airflow 3.0 and 3.1: in airflow.sdk.exceptions from 3.2 on
        from airflow.exceptions import AirflowSensorTimeout

    try:
        from airflow.sdk import BaseHook
    except ImportError:  # Airflow 3.0: in the Task SDK from 3.1 on
        from airflow.hooks.base import BaseHook

    try:
        from airflow.sdk import conf
    except ImportError:  # Airflow 3.0 and 3.1: airflow.sdk.conf from 3.2 on
        from airflow.configuration import conf

T = TypeVar("T")

#: The running Airflow's (major, minor), e.g. (3, 0).
AIRFLOW_VERSION: tuple[int, int] = tuple(int(part) for part in _airflow_version.split(".")[:2])  # type: ignore[assignment]

#: Whether run operators declare their flow's asset unless told otherwise. Not on Airflow 3.0, which fails a
#: task whose outlet its DAG processor did not register: every outlet under ``airflow dags test``
#: (apache/airflow#51644), and a mapped task's, whose flow id is known only at run time.
ASSET_OUTLETS_BY_DEFAULT = AIRFLOW_VERSION >= (3, 1)


async def call_sync(function: Callable[..., T], *args: Any) -> T:
    """Return ``function(*args)``, run off the event loop, for sync calls that may talk to Airflow's supervisor
    (a connection look-up, ``mask_secret``) from a trigger.

    Through asgiref's ``sync_to_async``, not ``asyncio.to_thread``: on Airflow 3.0 the triggerer's comms channel
    serves a thread only when asgiref started it (its ``async_to_sync`` then hands the message to the triggerer's
    own loop, under its lock); from a plain thread the call reads another coroutine's answer ("Response read out of
    order!") and the trigger runner dies. Later lines bridge any thread, so this works on every 3.x.
    """
    from asgiref.sync import sync_to_async

    return await sync_to_async(function)(*args)


__all__ = [
    "AIRFLOW_VERSION",
    "ASSET_OUTLETS_BY_DEFAULT",
    "AirflowException",
    "AirflowSensorTimeout",
    "BaseHook",
    "call_sync",
    "conf",
]
