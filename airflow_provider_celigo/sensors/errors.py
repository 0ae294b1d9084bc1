"""``CeligoOpenErrorsSensor``: a health gate on the open errors of an integration or a flow.

It reads integrator.io's error roll-up (one call per poke): ``GET /integrations/{id}/errors`` (open errors
per flow) or ``GET /flows/{id}/errors`` (open errors per step). It succeeds when the total is at most
``max_open_errors``; otherwise it waits for errors to be resolved (``on_exceeded="wait"``, in ``poke`` or
``reschedule`` mode, until ``timeout``) or fails at once (``on_exceeded="fail"``). Either way its message
lists the worst flows or steps first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider_celigo._validation import check_id
from airflow_provider_celigo.connection import DEFAULT_CONN_ID
from airflow_provider_celigo.exceptions import CeligoConfigError, CeligoError
from airflow_provider_celigo.operators.base import CeligoHookMixin, default_poll_interval

if TYPE_CHECKING:
    from airflow.sdk import Context

__all__ = ["CeligoOpenErrorsExceeded", "CeligoOpenErrorsSensor"]

ON_EXCEEDED = ("wait", "fail")
WORST_SHOWN = 5


class CeligoOpenErrorsExceeded(CeligoError):
    """More open errors than allowed, with ``on_exceeded="fail"``; ``health`` holds the sensor's reading."""

    def __init__(self, message: str, health: dict[str, Any]) -> None:
        self.health = health
        super().__init__(message)


class CeligoOpenErrorsSensor(CeligoHookMixin, BaseSensorOperator):
    """Wait until an integration's (or a flow's) open errors are at most ``max_open_errors``.

    :param integration_id: the integration to gate on (templated); give this or ``flow_id``.
    :param flow_id: the flow to gate on (templated).
    :param max_open_errors: the most open errors that still count as healthy (default 0).
    :param on_exceeded: ``"wait"`` (default: poke again until ``timeout``) or ``"fail"`` (raise at once).
    :param celigo_conn_id: the Celigo connection (default ``celigo_default``).

    Returns (XCom) ``{"scope", "id", "open_errors", "max_open_errors", "worst": [{"id", "open_errors",
    "last_error_at"}]}``. Raises CeligoOpenErrorsExceeded with ``on_exceeded="fail"``, CeligoNotFoundError
    for an integration or flow that does not exist.
    """

    template_fields: Sequence[str] = ("integration_id", "flow_id", "celigo_conn_id")
    ui_color = "#f2e6e6"

    def __init__(
        self,
        *,
        integration_id: str | None = None,
        flow_id: str | None = None,
        max_open_errors: int = 0,
        on_exceeded: str = "wait",
        celigo_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", default_poll_interval())
        super().__init__(**kwargs)
        if (integration_id is None) == (flow_id is None):
            raise CeligoConfigError(
                "CeligoOpenErrorsSensor needs exactly one of integration_id and flow_id: the integration or the "
                "flow whose open errors gate the DAG."
            )
        if isinstance(max_open_errors, bool) or not isinstance(max_open_errors, int) or max_open_errors < 0:
            raise CeligoConfigError(f"max_open_errors is {max_open_errors!r}; give a whole number >= 0.")
        if on_exceeded not in ON_EXCEEDED:
            raise CeligoConfigError(
                f"on_exceeded is {on_exceeded!r}; give 'wait' (poke until the errors are resolved or the sensor "
                "times out) or 'fail' (fail the task at once)."
            )
        self.integration_id = integration_id
        self.flow_id = flow_id
        self.max_open_errors = max_open_errors
        self.on_exceeded = on_exceeded
        self.celigo_conn_id = celigo_conn_id

    def read_health(self) -> dict[str, Any]:
        """Return the current reading (see the class docstring); one API call. Raises CeligoApiError."""
        if self.integration_id is not None:
            scope, scope_id = "integration", check_id(self.integration_id, "integration_id")
            rows = [
                (str(row.get("_flowId")), _number(row.get("numError")), row.get("lastErrorAt"))
                for row in self.hook.get_integration_open_errors(scope_id)
            ]
        else:
            scope, scope_id = "flow", check_id(self.flow_id, "flow_id")
            rows = [
                (str(row.get("_expOrImpId")), _number(row.get("numError")), row.get("lastErrorAt"))
                for row in self.hook.get_flow_open_errors(scope_id)
            ]
        rows.sort(key=lambda row: (-row[1], row[0]))
        return {
            "scope": scope,
            "id": scope_id,
            "open_errors": sum(row[1] for row in rows),
            "max_open_errors": self.max_open_errors,
            "worst": [
                {"id": row_id, "open_errors": number, "last_error_at": last}
                for row_id, number, last in rows[:WORST_SHOWN]
                if number
            ],
        }

    def poke(self, context: Context) -> PokeReturnValue:
        """Return done (with the reading) when healthy; not done, or raise, when not."""
        health = self.read_health()
        if health["open_errors"] <= self.max_open_errors:
            self.log.info(
                "Celigo %s %s: %d open errors (at most %d allowed)",
                health["scope"],
                health["id"],
                health["open_errors"],
                self.max_open_errors,
            )
            return PokeReturnValue(is_done=True, xcom_value=health)
        message = describe_health(health)
        if self.on_exceeded == "fail":
            raise CeligoOpenErrorsExceeded(message, health)
        self.log.warning("%s; waiting for them to be resolved", message)
        return PokeReturnValue(is_done=False)


def _number(value: Any) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def describe_health(health: dict[str, Any]) -> str:
    """Return one line: the total against the limit and the worst flows or steps."""
    kind = "flows" if health["scope"] == "integration" else "steps"
    worst = ", ".join(f"{row['id']} ({row['open_errors']})" for row in health["worst"])
    return (
        f"Celigo {health['scope']} {health['id']} has {health['open_errors']} open errors, more than the "
        f"{health['max_open_errors']} allowed; worst {kind}: {worst}"
    )
