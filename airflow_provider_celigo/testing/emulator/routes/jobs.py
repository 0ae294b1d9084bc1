"""Jobs: query, get, family, legacy job errors, cancel."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ..body import read_json
from ..deps import account_of, emulator_of
from ..errors import ApiError, not_found
from ..jobengine import JobStateError
from ..jobquery import ID_FIELDS, SCOPING, QueryError, parse_job_query

__all__ = ["router"]

router = APIRouter()
CHILD_TYPES = frozenset({"export", "import"})


@router.get("/v1/jobs")
async def list_jobs(request: Request) -> JSONResponse:
    """Return matching jobs newest first (bare array, no Link header, capped at ``jobs_cap``).

    Without ``jobs_require_scope`` off: 400 ``invalid_query`` for a query with no scoping filter, and for a
    query of export or import jobs without ``_flowJobId`` or a resource id (``createdAt_*`` alone is not enough).
    """
    emulator = emulator_of(request)
    store = account_of(request)
    try:
        flt = parse_job_query(list(request.query_params.multi_items()))
    except QueryError as exc:
        raise ApiError(400, "invalid_query", str(exc)) from None
    if emulator.config.jobs_require_scope and not flt.scoped:
        scoping = ", ".join(sorted(SCOPING))
        raise ApiError(400, "invalid_query", f"Add at least one scoping filter: {scoping}.")
    if emulator.config.jobs_require_scope and flt.types and flt.types & CHILD_TYPES and not flt.ids:
        # developer.celigo.com jobs reference: child-type queries need _flowJobId or a resource id.
        ids = ", ".join(ID_FIELDS)
        raise ApiError(400, "invalid_query", f"A query for export or import jobs needs one of {ids}.")
    jobs = emulator.jobs.query(store.account_id, flt, emulator.now(), emulator.config.jobs_cap)
    return JSONResponse(jobs)


def _job(request: Request, job_id: str, family: bool = False) -> dict:
    emulator = emulator_of(request)
    account = account_of(request).account_id
    now = emulator.now()
    doc = emulator.jobs.family(job_id, account, now) if family else emulator.jobs.render(job_id, account, now)
    if doc is None:
        raise not_found("Job", job_id)
    return doc


@router.get("/v1/jobs/{job_id}")
async def get_job(job_id: str, request: Request) -> JSONResponse:
    """Return one job as it is now; 404 when unknown."""
    return JSONResponse(_job(request, job_id))


@router.get("/v1/jobs/{job_id}/family")
async def job_family(job_id: str, request: Request) -> JSONResponse:
    """Return the job with its ``children``."""
    return JSONResponse(_job(request, job_id, family=True))


@router.get("/v1/jobs/{job_id}/joberrors")
async def job_errors(job_id: str, request: Request) -> JSONResponse:
    """Return the legacy error list of a job: the step errors its run produced (at most 1000)."""
    emulator = emulator_of(request)
    items = emulator.jobs.job_errors(job_id, account_of(request).account_id, emulator.now())
    if items is None:
        raise not_found("Job", job_id)
    return JSONResponse(items[:1000])


@router.put("/v1/jobs/{job_id}/cancel")
async def cancel_job(job_id: str, request: Request) -> JSONResponse:
    """Cancel a queued or running job and return it; 422 ``invalid_job_state`` once it has ended.

    What integrator.io answers for a finished job is not documented; 422 is this emulator's choice.
    """
    emulator = emulator_of(request)
    store = account_of(request)
    await read_json(request, required=False)
    try:
        doc = emulator.jobs.cancel(job_id, store.account_id, emulator.now(), store.user_id)
    except LookupError:
        raise not_found("Job", job_id) from None
    except JobStateError as exc:
        raise ApiError(422, "invalid_job_state", str(exc)) from None
    return JSONResponse(doc)
