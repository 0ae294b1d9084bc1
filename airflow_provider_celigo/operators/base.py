"""What every Celigo operator and sensor shares: the connection id, the lazily imported hook, deferral default."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_celigo._compat import conf
from airflow_provider_celigo.connection import DEFAULT_CONN_ID

if TYPE_CHECKING:
    from airflow_provider_celigo.hooks.celigo import CeligoHook

__all__ = ["CeligoBaseOperator", "CeligoHookMixin", "default_deferrable", "default_poll_interval"]


FALLBACK_POLL_INTERVAL = 30.0


def default_deferrable() -> bool:
    """Return Airflow's ``[operators] default_deferrable`` (False when unset)."""
    return conf.getboolean("operators", "default_deferrable", fallback=False)


def default_poll_interval() -> float:
    """Return ``[celigo] default_poll_interval``: the seconds between job polls of tasks that set none (30).

    DAG tests against the emulator set it low (``AIRFLOW__CELIGO__DEFAULT_POLL_INTERVAL=1``). Raises
    CeligoConfigError when it is not a finite number of seconds > 0.
    """
    from airflow_provider_celigo.jobs.wait import positive_seconds

    value = conf.get("celigo", "default_poll_interval", fallback=None)
    if value is None or str(value).strip() == "":
        return FALLBACK_POLL_INTERVAL
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    return positive_seconds(seconds, f"Airflow config [celigo] default_poll_interval ({value!r})")


class CeligoHookMixin:
    """Gives a task a ``hook`` for its ``celigo_conn_id``, imported on first use to keep DAG parsing light."""

    celigo_conn_id: str

    @cached_property
    def hook(self) -> CeligoHook:
        """The sync hook for this task's connection."""
        from airflow_provider_celigo.hooks.celigo import CeligoHook

        return CeligoHook(celigo_conn_id=self.celigo_conn_id)


class CeligoBaseOperator(CeligoHookMixin, BaseOperator):
    """Base of the Celigo operators.

    :param celigo_conn_id: the Celigo connection (default ``celigo_default``).
    """

    def __init__(self, *, celigo_conn_id: str = DEFAULT_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.celigo_conn_id = celigo_conn_id
