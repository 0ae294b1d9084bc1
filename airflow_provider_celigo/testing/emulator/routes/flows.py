"""Flow runs and flow step errors: run, latest jobs, errors, resolve, retry."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from ..body import read_json, read_object
from ..deps import Doc, account_of, emulator_of, require_doc
from ..errors import ApiError
from ..flowgraph import page_generator_ids, step_ids
from ..ids import parse_time
from ..paging import body_cursor_response
from ..runs import StartedBy, StoreFlows, plan_run

__all__ = ["router"]

router = APIRouter()
MAX_IDS = 1000


def _check_date(value: Any, field: str) -> None:
    if value is None:
        return
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        parse_time(value)
    except ValueError:
        raise ApiError(422, "invalid_field", f"{field} must be an ISO-8601 date.", field) from None


def _run_export_ids(flow: Doc, body: dict[str, Any]) -> list[str] | None:
    """Validate a run body and return the ``_exportIds`` it selects (None: all page generators).

    What ``_exportIds`` and ``endDate`` do on integrator.io is assumed (no source names them); see
    the ``honour_export_ids`` setting.
    """
    generators = page_generator_ids(flow)
    export = body.get("export")
    if export is not None and not isinstance(export, dict):
        raise ApiError(422, "invalid_field", "export must be an object.", "export")
    for holder, prefix in ((export or {}, "export."), (body, "")):
        _check_date(holder.get("startDate"), f"{prefix}startDate")
        _check_date(holder.get("endDate"), f"{prefix}endDate")
    if "runKey" in body and not isinstance(body["runKey"], str):
        raise ApiError(422, "invalid_field", "runKey must be a string.", "runKey")
    chosen = body.get("_exportIds")
    if chosen is None:
        return None
    if not isinstance(chosen, list) or not chosen or any(e not in generators for e in chosen):
        raise ApiError(422, "invalid_ref", "_exportIds must list page generator export ids of the flow.", "_exportIds")
    return [str(e) for e in chosen]


@router.post("/v1/flows/{rid}/run")
async def run_flow(rid: str, request: Request) -> JSONResponse:
    """Start a run: one flow job per page generator; 201 (configurable) ``{"_jobId"}`` of the first one.

    422 ``flow_disabled`` for a disabled flow is assumed (no source documents it): ``refuse_disabled_runs``.
    """
    emulator = emulator_of(request)
    emulator.jobs.attach(StoreFlows(emulator))
    store = account_of(request)
    flow = require_doc(store, "flows", rid)
    raw = await read_json(request, required=False)
    if raw is not None and not isinstance(raw, dict):
        raise ApiError(422, "invalid_body", "The run body must be a JSON object.", "body")
    body = raw or {}
    export_ids = _run_export_ids(flow, body)
    if flow.get("disabled") and emulator.config.refuse_disabled_runs:
        raise ApiError(422, "flow_disabled", f"Flow {rid} is disabled; enable it before running it.")
    selected = export_ids if emulator.config.honour_export_ids else None
    plan = plan_run(flow, store.get, emulator.scenario_for(rid), selected, raw)
    run = emulator.jobs.start_run(
        account=store.account_id, plan=plan, started_by=StartedBy("api", user_id=store.user_id), now=emulator.now()
    )
    return JSONResponse({"_jobId": run.jobs[0].id}, status_code=emulator.config.run_status_code)


@router.get("/v1/flows/{rid}/jobs/latest")
async def latest_jobs(rid: str, request: Request) -> JSONResponse:
    """Return the flow jobs of the flow's latest run, one per page generator so far (``[]``: never ran)."""
    emulator = emulator_of(request)
    emulator.jobs.attach(StoreFlows(emulator))
    store = account_of(request)
    require_doc(store, "flows", rid)
    return JSONResponse(emulator.jobs.latest(rid, store.account_id, emulator.now()))


@router.get("/v1/flows/{rid}/errors")
async def flow_errors(rid: str, request: Request) -> JSONResponse:
    """Return ``{flowErrors: [{_expOrImpId, numError, lastErrorAt}]}``."""
    emulator = emulator_of(request)
    store = account_of(request)
    flow = require_doc(store, "flows", rid)
    summary = emulator.jobs.error_summary(store.account_id, flow, step_ids(flow), emulator.now())
    return JSONResponse({"flowErrors": summary})


def _flow_and_step(request: Request, rid: str, step: str) -> tuple[Doc, str]:
    flow = require_doc(account_of(request), "flows", rid)
    if step not in step_ids(flow):
        raise ApiError(404, "not_found", f"{step} is not an export or import of flow {rid}.")
    return flow, step


def _filter_errors(items: list[Doc], request: Request) -> list[Doc]:
    params = request.query_params
    out = items
    if "_flowJobId" in params:
        out = [e for e in out if e["_flowJobId"] == params["_flowJobId"]]
    for key in ("source", "classification"):
        wanted = params.getlist(key)
        if wanted:
            out = [e for e in out if e[key] in wanted]
    for field in ("occurredAt", "resolvedAt"):
        for op in ("gte", "lte"):
            raw = params.get(f"{field}_{op}")
            if raw is None:
                continue
            try:
                bound = parse_time(raw)
            except ValueError:
                raise ApiError(400, "invalid_query", f"{field}_{op} must be a date.") from None
            out = [
                e
                for e in out
                if field in e and (parse_time(e[field]) >= bound if op == "gte" else parse_time(e[field]) <= bound)
            ]
    return out


@router.get("/v1/flows/{rid}/{step}/errors")
async def step_errors(rid: str, step: str, request: Request) -> JSONResponse:
    """Return ``{errors: [...]}``: the open errors of a flow step."""
    emulator = emulator_of(request)
    _, step_id = _flow_and_step(request, rid, step)
    items = emulator.jobs.step_errors(account_of(request).account_id, rid, step_id, emulator.now(), resolved=False)
    errors = _filter_errors(items, request)
    config = emulator.config
    return body_cursor_response(
        request, "errors", errors, config.step_errors_page_size, empty_404=config.step_errors_404_when_empty
    )


@router.get("/v1/flows/{rid}/{step}/resolved")
async def step_resolved(rid: str, step: str, request: Request) -> JSONResponse:
    """Return ``{resolved: [...]}``: the resolved errors of a flow step."""
    emulator = emulator_of(request)
    _, step_id = _flow_and_step(request, rid, step)
    items = emulator.jobs.step_errors(account_of(request).account_id, rid, step_id, emulator.now(), resolved=True)
    return body_cursor_response(
        request, "resolved", _filter_errors(items, request), emulator.config.step_errors_page_size
    )


def _id_list(body: dict[str, Any], field: str) -> list[str]:
    value = body.get(field)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(422, "invalid_field", f"{field} must be an array of strings.", field)
    if len(value) > MAX_IDS:
        raise ApiError(422, "too_many_items", f"At most {MAX_IDS} ids per request.", field)
    return value


@router.put("/v1/flows/{rid}/{step}/resolved")
async def resolve_errors(rid: str, step: str, request: Request) -> Response:
    """Resolve ``{errors: [errorId...]}`` (at most 1000); 204."""
    emulator = emulator_of(request)
    store = account_of(request)
    _flow_and_step(request, rid, step)
    error_ids = _id_list(await read_object(request), "errors")
    emulator.jobs.resolve(store.account_id, rid, step, error_ids, emulator.now(), store.user_id)
    return Response(status_code=204)


@router.post("/v1/flows/{rid}/{step}/retry")
async def retry_errors(rid: str, step: str, request: Request) -> JSONResponse:
    """Retry ``{retryDataKeys: [...]}`` (at most 1000); 200 ``{"_jobId"}`` of a ``type: retry`` job."""
    emulator = emulator_of(request)
    store = account_of(request)
    flow, step_id = _flow_and_step(request, rid, step)
    keys = _id_list(await read_object(request), "retryDataKeys")
    kind = "export" if store.get("exports", step_id) is not None else "import"
    retry = emulator.jobs.retry(store.account_id, flow, step_id, kind, keys, emulator.now(), store.user_id)
    return JSONResponse({"_jobId": retry.id})
