"""``POST /v1/{integrations|flows|exports|imports}/{id}/clone``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from .. import clone as cloning
from ..body import read_object
from ..deps import account_of, emulator_of, require_doc
from ..errors import ApiError
from ..resources import CLONEABLE, RESOURCE_TYPES
from ..secrets import masked

__all__ = ["router"]

router = APIRouter()


@router.post("/v1/{rtype}/{rid}/clone")
async def clone_resource(rtype: str, rid: str, request: Request) -> JSONResponse:
    """Clone a resource with a connection map; 201 with the manifest ``[{model, _id, name}]``.

    With ``clone_answer="document"`` the answer is the cloned resource itself (masked), the other form
    Celigo's clone-response schema allows.
    """
    if rtype not in CLONEABLE:
        raise ApiError(404, "not_found", f"{rtype} cannot be cloned.")
    emulator = emulator_of(request)
    store = account_of(request)
    source = require_doc(store, rtype, rid)
    body = await read_object(request, required=False)
    manifest, id_map = cloning.clone(store, rtype, source, body, emulator.now())
    for old_id, new_id in id_map.items():
        if old_id in emulator.scenarios:
            emulator.scenarios[new_id] = emulator.scenarios[old_id]
    if emulator.config.clone_answer == "document":
        clone = store.get(rtype, id_map[rid])
        return JSONResponse(masked(clone or {}, RESOURCE_TYPES[rtype]), status_code=201)
    return JSONResponse(manifest, status_code=201)
