"""Generic CRUD for every resource type, plus an integration's child lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import JSONResponse, Response

from ..body import read_json
from ..deps import Doc, account_of, emulator_of, require_doc, resource_type_of
from ..errors import ApiError
from ..flowgraph import step_ids
from ..jsonpatch import PatchError, apply_patch
from ..paging import list_response
from ..resources import EMPTY_204_TYPES, RESOURCE_TYPES, ResourceType
from ..secrets import contains_mask, keeps_secret_on_mask_write, masked, restore_masked
from ..store import AccountStore
from ..validation import validate_doc

__all__ = ["router"]

router = APIRouter()
RESERVED_PARAMS = frozenset({"after", "limit", "include", "exclude", "sandbox", "fetchQueueSize"})


def _equal(value: Any, wanted: str) -> bool:
    if isinstance(value, bool):
        return wanted.lower() == ("true" if value else "false")
    if isinstance(value, (str, int, float)):
        return str(value) == wanted
    if value is None:
        return wanted in ("null", "")
    return False


def filter_docs(docs: list[Doc], params: QueryParams) -> list[Doc]:
    """Return the docs whose top-level fields equal every non-reserved query parameter."""
    wanted = [(k, v) for k, v in params.multi_items() if k not in RESERVED_PARAMS]
    if not wanted:
        return docs
    return [d for d in docs if all(k in d and _equal(d[k], v) for k, v in wanted)]


def _projector(params: QueryParams, rtype: ResourceType) -> Callable[[Doc], Doc]:
    """Return the function that masks a listed doc and applies ``include``/``exclude``."""
    include, exclude = params.get("include"), params.get("exclude")
    if include and exclude:
        raise ApiError(400, "invalid_query_params", "include and exclude cannot be used together.")
    keep = {"_id", *include.split(",")} if include else None
    drop = set(exclude.split(",")) - {"_id"} if exclude else None

    def project(doc: Doc) -> Doc:
        shown = masked(doc, rtype)
        if keep is not None:
            return {k: v for k, v in shown.items() if k in keep}
        if drop is not None:
            return {k: v for k, v in shown.items() if k not in drop}
        return shown

    return project


def respond_list(request: Request, rtype: str, docs: list[Doc], *, allow_204: bool) -> Response:
    """Return a filtered, paged, masked list response for documents of ``rtype``."""
    emulator = emulator_of(request)
    rt = RESOURCE_TYPES[rtype]
    items = filter_docs(docs, request.query_params)
    empty_204 = allow_204 and emulator.config.empty_list_204 and rtype in EMPTY_204_TYPES
    project = _projector(request.query_params, rt)
    return list_response(request, items, emulator.config.page_size, empty_204=empty_204, transform=project)


def _integration_children(store: AccountStore, integration: Doc, child: str) -> list[Doc]:
    flows = store.integration_flows(integration["_id"])
    if child == "flows":
        return flows
    if child == "connections":
        ids = list(integration.get("_registeredConnectionIds") or [])
        for flow in flows:
            ids.extend(store.flow_connections(flow))
    else:
        ids = [d["_id"] for d in store.all(child) if d.get("_integrationId") == integration["_id"]]
        for flow in flows:
            ids.extend(step_ids(flow))
    found = (store.get(child, i) for i in dict.fromkeys(ids))
    return [d for d in found if d is not None]


def _child_route(child: str) -> None:
    async def list_children(rid: str, request: Request) -> Response:
        store = account_of(request)
        integration = require_doc(store, "integrations", rid)
        return respond_list(request, child, _integration_children(store, integration, child), allow_204=False)

    list_children.__doc__ = f"Return the {child} of an integration (paged)."
    router.add_api_route(f"/v1/integrations/{{rid}}/{child}", list_children, methods=["GET"], name=f"children_{child}")


for _child in ("flows", "connections", "exports", "imports"):
    _child_route(_child)


@router.get("/v1/{rtype}")
async def list_resources(rtype: str, request: Request) -> Response:
    """Return a page of resources (bare array, ``Link`` header for more; 204 when empty if configured)."""
    resource_type_of(rtype)
    return respond_list(request, rtype, account_of(request).all(rtype), allow_204=True)


@router.post("/v1/{rtype}")
async def create_resource(rtype: str, request: Request) -> JSONResponse:
    """Create a resource; 201 with the stored (masked) document."""
    rt = resource_type_of(rtype)
    store = account_of(request)
    emulator = emulator_of(request)
    body = validate_doc(store, rt, await read_json(request), check_refs=emulator.config.validate_refs)
    doc = store.create(rtype, body, emulator.now())
    return JSONResponse(masked(doc, rt), status_code=201)


@router.get("/v1/{rtype}/{rid}")
async def get_resource(rtype: str, rid: str, request: Request) -> JSONResponse:
    """Return one resource (masked); 404 when unknown."""
    rt = resource_type_of(rtype)
    return JSONResponse(masked(require_doc(account_of(request), rtype, rid), rt))


def _keep_secrets(request: Request, rt: ResourceType, new: Doc, old: Doc) -> Doc:
    """Return ``new`` with masks written back replaced by the stored secrets when the type keeps them that way
    (iClients; types no source covers per ``keep_secret_on_mask_write``); else the mask is stored as written."""
    if contains_mask(new) and keeps_secret_on_mask_write(rt, emulator_of(request).config.keep_secret_on_mask_write):
        restored: Doc = restore_masked(new, old)
        return restored
    return new


@router.put("/v1/{rtype}/{rid}")
async def replace_resource(rtype: str, rid: str, request: Request) -> JSONResponse:
    """Replace a resource (full replace); 200 with the stored (masked) document."""
    rt = resource_type_of(rtype)
    store = account_of(request)
    emulator = emulator_of(request)
    old = require_doc(store, rtype, rid)
    body = validate_doc(store, rt, await read_json(request), check_refs=emulator.config.validate_refs)
    doc = store.replace(rtype, rid, _keep_secrets(request, rt, body, old), emulator.now())
    return JSONResponse(masked(doc, rt))


@router.patch("/v1/{rtype}/{rid}")
async def patch_resource(rtype: str, rid: str, request: Request) -> Response:
    """Apply a JSON Patch limited to the type's whitelist; 204; 422 for other paths.

    The whitelist is the documented one plus, unless ``accept_guessed_patch_paths`` is off, the provider's
    guessed paths; which error integrator.io gives for another path is not documented (422 is this emulator's).
    """
    rt = resource_type_of(rtype)
    store = account_of(request)
    emulator = emulator_of(request)
    old = require_doc(store, rtype, rid)
    operations = await read_json(request)
    patterns = rt.allowed_patch_paths(emulator.config.accept_guessed_patch_paths)
    try:
        patched = apply_patch(old, operations, patterns)
    except PatchError as exc:
        allowed = ", ".join(patterns) or "none"
        raise ApiError(422, "invalid_patch", f"{exc}. Patchable paths for {rtype}: {allowed}", exc.path) from None
    patched = validate_doc(store, rt, _keep_secrets(request, rt, patched, old), check_refs=False)
    store.replace(rtype, rid, patched, emulator.now())
    return Response(status_code=204)


@router.delete("/v1/{rtype}/{rid}")
async def delete_resource(rtype: str, rid: str, request: Request) -> Response:
    """Move a resource (an integration with its flows) to the recycle bin; 204."""
    resource_type_of(rtype)
    store = account_of(request)
    require_doc(store, rtype, rid)
    store.delete(rtype, rid, emulator_of(request).now())
    return Response(status_code=204)
