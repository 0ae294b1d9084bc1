"""Dashboard reads mixed into ``CeligoHook``: latest jobs and open-error roll-ups of flows and integrations.

Sources and confidence (see the README's operator table):
- ``GET /flows/{id}/jobs/latest``, ``GET /integrations/{id}/jobs/latest``: arrays of flow jobs (UI, Celigo's
  own AI docs; H).
- ``GET /flows/{id}/errors`` -> ``{"flowErrors": [{_expOrImpId, numError, lastErrorAt}]}`` (UI; H).
- ``GET /integrations/{id}/errors`` -> ``[{_flowId, numError, lastErrorAt}]`` (UI; H).
- ``POST /jobs/current`` and ``POST /flows/runs/stats`` (body: ``sandbox``, ``_flowIds`` or
  ``_integrationIds``, ``status``, ``time_gt``/``time_lte``, as integrator.io's UI sends it): jobs in progress
  and run statistics (Celigo's AI docs and UI; **M**: the answer shapes are not confirmed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_celigo._validation import check_id
from airflow_provider_celigo.exceptions import CeligoApiError

__all__ = ["DashboardMethods"]


def _array(answer: Any, path: str) -> list[dict[str, Any]]:
    """Return a list answer's objects (None = 204 = empty); raises CeligoApiError for another shape."""
    if answer is None:
        return []
    if not isinstance(answer, list):
        raise CeligoApiError(
            status=200, method="GET", path=f"/v1{path}", code="unexpected_content", message="expected a JSON array"
        )
    return [item for item in answer if isinstance(item, dict)]


class DashboardMethods:
    """What integrator.io's dashboard shows: the latest jobs and the open errors of flows and integrations."""

    if TYPE_CHECKING:

        def request(
            self, method: str, path: str, *, params: Any = None, json: Any = None, not_found: str | None = None
        ) -> Any: ...

    def get_latest_integration_jobs(self, integration_id: str) -> list[dict[str, Any]]:
        """Return the latest flow jobs of every flow of an integration (``GET /integrations/{id}/jobs/latest``).

        Raises CeligoNotFoundError when the integration does not exist.
        """
        path = f"/integrations/{check_id(integration_id, 'integration id')}/jobs/latest"
        return _array(self.request("GET", path, not_found=f"integration {integration_id} does not exist"), path)

    def get_flow_open_errors(self, flow_id: str) -> list[dict[str, Any]]:
        """Return the open errors per step of a flow: ``[{"_expOrImpId", "numError", "lastErrorAt"}]``.

        Raises CeligoNotFoundError when the flow does not exist, CeligoApiError for another answer shape.
        """
        path = f"/flows/{check_id(flow_id, 'flow id')}/errors"
        answer = self.request("GET", path, not_found=f"flow {flow_id} does not exist")
        if answer is None:
            return []
        if not isinstance(answer, Mapping) or not isinstance(answer.get("flowErrors"), list):
            raise CeligoApiError(
                status=200,
                method="GET",
                path=f"/v1{path}",
                code="unexpected_content",
                message='expected {"flowErrors": [...]}',
            )
        return [item for item in answer["flowErrors"] if isinstance(item, dict)]

    def get_integration_open_errors(self, integration_id: str) -> list[dict[str, Any]]:
        """Return the open errors per flow of an integration: ``[{"_flowId", "numError", "lastErrorAt"}]``.

        Raises CeligoNotFoundError when the integration does not exist.
        """
        path = f"/integrations/{check_id(integration_id, 'integration id')}/errors"
        return _array(self.request("GET", path, not_found=f"integration {integration_id} does not exist"), path)

    def get_current_jobs(
        self,
        *,
        flow_ids: Iterable[str] | None = None,
        integration_ids: Iterable[str] | None = None,
        sandbox: bool = False,
    ) -> list[dict[str, Any]]:
        """Return the jobs in progress (``POST /jobs/current``; confidence M), of some flows or integrations.

        The body is the one integrator.io's UI sends (``sandbox``, ``_flowIds`` or ``_integrationIds``); the
        answer is read as an array of jobs (or an object's ``jobs`` array). Raises CeligoApiError for another
        shape.
        """
        answer = self.request("POST", "/jobs/current", json=_dashboard_body(flow_ids, integration_ids, sandbox))
        if isinstance(answer, Mapping) and isinstance(answer.get("jobs"), list):
            answer = answer["jobs"]
        return _array(answer, "/jobs/current")

    def get_run_stats(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        flow_ids: Iterable[str] | None = None,
        integration_ids: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
        sandbox: bool = False,
    ) -> Any:
        """Return integrator.io's run statistics (``POST /flows/runs/stats``; confidence M, answer shape L).

        The body is the UI's: ``time_gt``/``time_lte`` (epoch milliseconds), ``status``, ``_flowIds`` or
        ``_integrationIds``, ``sandbox``. The answer is returned as decoded: Celigo's own docs describe one
        entry per flow with ``numRuns``, ``numSuccess``, ``numError``, ``numOpenError``, ``lastExecutedAt``
        (what the emulator serves), but no client confirms it.
        """
        body = _dashboard_body(flow_ids, integration_ids, sandbox)
        if since is not None:
            body["time_gt"] = int(since.timestamp() * 1000)
        if until is not None:
            body["time_lte"] = int(until.timestamp() * 1000)
        if statuses:
            body["status"] = list(statuses)
        return self.request("POST", "/flows/runs/stats", json=body)


def _dashboard_body(
    flow_ids: Iterable[str] | None, integration_ids: Iterable[str] | None, sandbox: bool
) -> dict[str, Any]:
    """Return the filter body of the dashboard calls: flows win over integrations, as in integrator.io's UI."""
    body: dict[str, Any] = {"sandbox": bool(sandbox)}
    flows = [check_id(flow_id, "flow id") for flow_id in flow_ids or []]
    integrations = [check_id(integration_id, "integration id") for integration_id in integration_ids or []]
    if flows:
        body["_flowIds"] = flows
    elif integrations:
        body["_integrationIds"] = integrations
    return body
