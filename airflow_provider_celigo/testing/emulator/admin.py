"""Admin routes under ``/_emulator`` (no token; absent when the config says ``admin=False``)."""

from __future__ import annotations

import inspect

from fastapi import APIRouter, Depends, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .body import read_json, read_object
from .deps import emulator_of
from .errors import ApiError
from .faults import FaultPlanError
from .runs import StartedBy, StoreFlows

__all__ = ["PREFIX", "router"]


def _attach_flows(request: Request) -> None:
    """Let the job engine find flows for chained and scheduled runs (see JobEngine.attach)."""
    emulator = emulator_of(request)
    emulator.jobs.attach(StoreFlows(emulator))


PREFIX = "/_emulator"
router = APIRouter(prefix=PREFIX, dependencies=[Depends(_attach_flows)])

# Admin pages FastAPI itself serves (their endpoints carry no docstring to describe them).
_BUILT_IN = {
    f"{PREFIX}/docs": "Interactive API documentation (Swagger UI) of the emulator.",
    f"{PREFIX}/docs/oauth2-redirect": "OAuth2 redirect page of the Swagger UI.",
    f"{PREFIX}/openapi.json": "The emulator's OpenAPI schema.",
}


def _summary(route: Route) -> str:
    """Return the first line of a route's docstring, or the description of a built-in page."""
    if route.path in _BUILT_IN:
        return _BUILT_IN[route.path]
    doc = (inspect.getdoc(route.endpoint) or "").strip()
    return doc.splitlines()[0].replace("``", "") if doc else ""


@router.get("/")
async def index(request: Request) -> JSONResponse:
    """List the admin routes, each with its method and a one-line description."""
    routes = []
    for route in request.app.routes:
        if not isinstance(route, Route) or not route.path.startswith(PREFIX):
            continue
        for method in sorted((route.methods or set()) - {"HEAD"}):
            routes.append({"method": method, "path": route.path, "description": _summary(route)})
    routes.sort(key=lambda item: (item["path"], item["method"]))
    return JSONResponse(
        {
            "emulator": "Celigo integrator.io emulator: admin routes (no token needed)",
            "api": "/v1 (needs 'Authorization: Bearer <token>')",
            "routes": routes,
        }
    )


@router.get("/health")
async def health(request: Request) -> JSONResponse:
    """Return ``{"ok": true}``."""
    return JSONResponse({"ok": True})


@router.post("/reset")
async def reset(request: Request) -> Response:
    """Clear all data, jobs, scenarios, faults, the request log and counters; 204."""
    emulator_of(request).reset()
    return Response(status_code=204)


@router.post("/seed")
async def seed(request: Request) -> JSONResponse:
    """Load ``{"seed": "demo", "account"?}`` or a raw dump ``{"<type>": [docs], "scenarios"?: {...}}``."""
    body = await read_object(request)
    try:
        if isinstance(body.get("seed"), str):
            loaded = emulator_of(request).seed(body["seed"], body.get("account"))
        else:
            loaded = emulator_of(request).seed(body, body.get("account"))
    except KeyError as exc:
        raise ApiError(422, "unknown_seed", f"Unknown seed {exc}.", "seed") from None
    except ValueError as exc:
        raise ApiError(422, "invalid_seed", str(exc)) from None
    emulator = emulator_of(request)
    emulator.jobs.catch_up(emulator.now())  # schedules of the seeded flows count from now
    return JSONResponse({"loaded": loaded})


@router.get("/data")
async def data(request: Request) -> JSONResponse:
    """Return every account's resources (secrets unmasked), recycle bin, state and scenarios."""
    return JSONResponse(emulator_of(request).dump())


@router.get("/scenarios")
async def scenarios(request: Request) -> JSONResponse:
    """Return ``{flowId: scenario}`` for every flow with an explicit scenario."""
    return JSONResponse({fid: s.as_dict() for fid, s in emulator_of(request).scenarios.items()})


@router.put("/scenarios/{flow_id}")
async def set_scenario(flow_id: str, request: Request) -> JSONResponse:
    """Merge the body into the flow's scenario and return the result (422 when invalid)."""
    try:
        scenario = emulator_of(request).set_scenario(flow_id, await read_object(request))
    except ValueError as exc:
        raise ApiError(422, "invalid_scenario", str(exc)) from None
    return JSONResponse(scenario.as_dict())


@router.get("/faults")
async def get_faults(request: Request) -> JSONResponse:
    """Return ``{"plan": ..., "counters": {kind: n}}``."""
    faults = emulator_of(request).faults
    return JSONResponse({"plan": faults.plan(), "counters": dict(faults.counters)})


@router.put("/faults")
async def put_faults(request: Request) -> JSONResponse:
    """Replace the fault plan (``{}`` clears it) and return it; counters keep counting."""
    faults = emulator_of(request).faults
    try:
        faults.set_plan(await read_json(request))
    except FaultPlanError as exc:
        raise ApiError(422, "invalid_fault_plan", str(exc)) from None
    return JSONResponse({"plan": faults.plan(), "counters": dict(faults.counters)})


@router.get("/config")
async def get_config(request: Request) -> JSONResponse:
    """Return the current settings."""
    return JSONResponse(emulator_of(request).config.as_dict())


@router.put("/config")
async def put_config(request: Request) -> JSONResponse:
    """Change run-time settings (clock_speed, page_size, bucket_size, ...) and return all settings."""
    emulator = emulator_of(request)
    try:
        emulator.configure(await read_object(request))
    except ValueError as exc:
        raise ApiError(422, "invalid_config", str(exc)) from None
    return JSONResponse(emulator.config.as_dict())


@router.get("/requests")
async def requests_log(request: Request) -> JSONResponse:
    """Return the request log, oldest first (the last 10000 API requests)."""
    return JSONResponse(emulator_of(request).log.as_list())


@router.delete("/requests")
async def clear_requests(request: Request) -> Response:
    """Forget the request log; 204."""
    emulator_of(request).log.clear()
    return Response(status_code=204)


@router.get("/runs")
async def runs(request: Request) -> JSONResponse:
    """Return ``{flowId: number of POST /run that created a job}``."""
    return JSONResponse(dict(emulator_of(request).jobs.run_counts))


@router.get("/flow-runs")
async def flow_runs(request: Request) -> JSONResponse:
    """Return every run, oldest first: who started it (api, chain, schedule), its flow jobs, what it chained."""
    emulator = emulator_of(request)
    return JSONResponse({"runs": emulator.jobs.run_log(emulator.now()), "skipped": emulator.jobs.skipped})


@router.post("/flows/{flow_id}/run")
async def run_as_schedule(flow_id: str, request: Request) -> JSONResponse:
    """Start a run as integrator.io's own schedule would (``{"account"?}``); 200 ``{runId, _jobIds}``.

    Not counted in ``/_emulator/runs`` (POST /run calls only); 404 for an unknown flow, 422 ``flow_disabled``.
    """
    emulator = emulator_of(request)
    body = await read_json(request, required=False) or {}
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_body", "The body must be a JSON object.", "body")
    account = body.get("account") or emulator.config.default_account
    store = emulator.accounts.get(account)
    flow = store.get("flows", flow_id) if store is not None else None
    if flow is None:
        raise ApiError(404, "not_found", f"Flow {flow_id} not found in account {account!r}.")
    if flow.get("disabled"):
        raise ApiError(422, "flow_disabled", f"Flow {flow_id} is disabled: a schedule does not run it.")
    run = emulator.jobs.start_run_as_integrator(account, flow_id, StartedBy("schedule"), emulator.now())
    assert run is not None
    return JSONResponse({"runId": run.id, "_jobIds": [job.id for job in run.jobs]})


@router.post("/clock/advance")
async def advance_clock(request: Request) -> JSONResponse:
    """Jump the emulated clock forward by ``{"seconds": n}`` (schedules fire, runs progress); return ``{"now"}``."""
    emulator = emulator_of(request)
    seconds = (await read_object(request)).get("seconds")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise ApiError(422, "invalid_field", "seconds must be a number >= 0.", "seconds")
    emulator.jobs.catch_up(emulator.now())
    emulator.clock.advance(float(seconds))
    emulator.jobs.catch_up(emulator.now())
    return JSONResponse({"now": emulator.now()})


@router.get("/jobs")
async def jobs(request: Request) -> JSONResponse:
    """Return every flow and retry job now, with ``children``, ``account`` and the run body."""
    emulator = emulator_of(request)
    return JSONResponse(emulator.jobs.all_jobs(emulator.now()))


@router.get("/stats")
async def stats(request: Request) -> JSONResponse:
    """Return peak running jobs per account/connection and request concurrency counters."""
    return JSONResponse(emulator_of(request).stats())


@router.post("/stats/reset")
async def reset_stats(request: Request) -> Response:
    """Restart the peak measurements from now; 204."""
    emulator_of(request).reset_stats()
    return Response(status_code=204)
