"""Dashboard reads of an integration: its flows' latest jobs and open errors, and the jobs in progress.

- ``GET /v1/integrations/{id}/errors`` -> ``[{_flowId, numError, lastErrorAt}]`` for the flows with open
  errors (UI ``sagas/errorManagement/openErrors``; H).
- ``GET /v1/integrations/{id}/jobs/latest`` -> the flow jobs of each flow's latest run (UI; H).
- ``POST /v1/jobs/current`` (body as integrator.io's UI sends it: ``_flowIds`` or ``_integrationIds``) -> the
  queued and running flow jobs, newest first (Celigo's AI docs and UI; M: the answer shape is not confirmed).
- ``POST /v1/flows/runs/stats`` (the same body plus ``time_gt``/``time_lte`` in epoch ms and ``status``) -> one
  entry per flow (M; the entry's fields are those Celigo's AI docs name, unconfirmed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ..body import read_json
from ..deps import account_of, emulator_of, require_doc
from ..errors import ApiError
from ..flowgraph import step_ids
from ..ids import parse_time
from ..jobquery import QueryError, parse_job_query

if TYPE_CHECKING:
    from ..core import Emulator
    from ..store import AccountStore

__all__ = ["router"]

router = APIRouter()
IN_PROGRESS = ("queued", "running", "canceling", "retrying")


def _integration_reader(request: Request, rid: str) -> tuple[Emulator, AccountStore, float]:
    """Return the emulator, the caller's account and the time, once integration ``rid`` is known to exist."""
    emulator, store = emulator_of(request), account_of(request)
    require_doc(store, "integrations", rid)
    return emulator, store, emulator.now()


@router.get("/v1/integrations/{rid}/errors")
async def integration_errors(rid: str, request: Request) -> JSONResponse:
    """Return the open errors per flow of the integration (flows without open errors are left out)."""
    emulator, store, now = _integration_reader(request, rid)
    rollup = []
    for flow in store.integration_flows(rid):
        steps = emulator.jobs.error_summary(store.account_id, flow, step_ids(flow), now)
        if steps:
            rollup.append(
                {
                    "_flowId": flow["_id"],
                    "numError": sum(step["numError"] for step in steps),
                    "lastErrorAt": max(step["lastErrorAt"] for step in steps),
                }
            )
    return JSONResponse(rollup)


@router.get("/v1/integrations/{rid}/jobs/latest")
async def integration_latest_jobs(rid: str, request: Request) -> JSONResponse:
    """Return the flow jobs of the latest run of each flow of the integration (flows that never ran add none)."""
    emulator, store, now = _integration_reader(request, rid)
    jobs = [
        job for flow in store.integration_flows(rid) for job in emulator.jobs.latest(flow["_id"], store.account_id, now)
    ]
    return JSONResponse(jobs)


def _dashboard_filter(body: Any) -> list[tuple[str, str]]:
    """Return ``/jobs`` query pairs for the UI's dashboard body (``_flowIds`` or ``_integrationIds``)."""
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "The body must be a JSON object of filters.")
    pairs: list[tuple[str, str]] = [("type", "flow")]
    for field, name in (("_flowIds", "_flowId_in"), ("_integrationIds", "_integrationId")):
        values = body.get(field) or []
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise ApiError(422, "invalid_request", f"{field} must be an array of ids.", field)
        if name == "_flowId_in":
            pairs += [(f"_flowId_in[{n}]", value) for n, value in enumerate(values)]
        else:
            pairs += [(name, value) for value in values]
    return pairs


@router.post("/v1/jobs/current")
async def current_jobs(request: Request) -> JSONResponse:
    """Return the flow jobs in progress (queued, running), newest first, of ``_flowIds`` or ``_integrationIds``."""
    emulator = emulator_of(request)
    store = account_of(request)
    pairs = _dashboard_filter(await read_json(request, required=False) or {})
    pairs += [("status", status) for status in IN_PROGRESS]
    try:
        flt = parse_job_query(pairs)
    except QueryError as exc:
        raise ApiError(400, "invalid_query", str(exc)) from None
    return JSONResponse(emulator.jobs.query(store.account_id, flt, emulator.now(), emulator.config.jobs_cap))


@router.post("/v1/flows/runs/stats")
async def run_stats(request: Request) -> JSONResponse:
    """Return one entry per flow with runs that ended in the window (``time_gt``/``time_lte``, epoch ms):
    ``_flowId``, ``numRuns``, ``numSuccess``, ``numError``, ``numOpenError``, ``lastExecutedAt`` (the shape
    Celigo's AI docs describe; unconfirmed)."""
    emulator = emulator_of(request)
    store = account_of(request)
    body = await read_json(request, required=False) or {}
    pairs = _dashboard_filter(body)
    statuses = body.get("status") or ["completed", "failed", "canceled"]
    pairs += [("status", str(status)) for status in statuses]
    try:
        flt = parse_job_query(pairs)
    except QueryError as exc:
        raise ApiError(400, "invalid_query", str(exc)) from None
    since, until = body.get("time_gt"), body.get("time_lte")
    now = emulator.now()
    stats: dict[str, dict[str, Any]] = {}
    for job in emulator.jobs.query(store.account_id, flt, now, emulator.config.jobs_cap):
        ended_ms = parse_time(job["endedAt"]) * 1000 if isinstance(job.get("endedAt"), str) else None
        if ended_ms is None or (since is not None and ended_ms <= since) or (until is not None and ended_ms > until):
            continue
        entry = stats.setdefault(
            job["_flowId"],
            {"_flowId": job["_flowId"], "numRuns": 0, "numSuccess": 0, "numError": 0, "lastExecutedAt": None},
        )
        entry["numRuns"] += 1
        entry["numSuccess"] += int(job.get("numSuccess") or 0)
        entry["numError"] += int(job.get("numError") or 0)
        entry["lastExecutedAt"] = max(filter(None, [entry["lastExecutedAt"], job.get("endedAt")]))
    for flow_id, entry in stats.items():
        flow = store.get("flows", flow_id)
        steps = emulator.jobs.error_summary(store.account_id, flow, step_ids(flow), now) if flow else []
        entry["numOpenError"] = sum(step["numError"] for step in steps)
    return JSONResponse(list(stats.values()))
