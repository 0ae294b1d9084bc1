"""The FastAPI application factory."""

from __future__ import annotations

try:
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.responses import JSONResponse, Response
except ImportError as missing:  # a plain install, without the test kit's dependencies
    raise ImportError(
        f"the Celigo emulator needs the 'emulator' extra ({missing.name} is not installed): "
        'pip install "airflow-provider-celigo[emulator]"',
        name=missing.name,
    ) from None

from .config import EmulatorConfig
from .core import Emulator
from .errors import ApiError, envelope
from .middleware import EmulatorMiddleware, install_log_filter
from .routes import (
    account,
    audit,
    clone,
    connections,
    dashboard,
    flows,
    integration_settings,
    jobs,
    lookups,
    recyclebin,
    resources,
    state,
    users,
)

__all__ = ["create_app"]

# Order matters: specific paths before the generic /v1/{type}[/{id}] routes.
API_ROUTERS = (
    account.router,
    state.router,
    lookups.router,
    recyclebin.router,
    dashboard.router,
    jobs.router,
    flows.router,
    connections.router,
    clone.router,
    audit.router,
    users.router,
    integration_settings.router,
    resources.router,
)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    message = f"No route for {request.method} {request.url.path}." if exc.status_code in (404, 405) else str(exc.detail)
    return JSONResponse(envelope(code, message), status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
    return JSONResponse(envelope("invalid_request", str(first.get("msg", "invalid request")), field), 422)


def create_app(config: EmulatorConfig | None = None, emulator: Emulator | None = None) -> FastAPI:
    """Return the emulator app for ``config`` (or around an existing ``emulator``)."""
    emulator = emulator or Emulator(config)
    admin = emulator.config.admin
    app = FastAPI(
        title="Celigo integrator.io emulator",
        docs_url="/_emulator/docs" if admin else None,
        redoc_url=None,
        openapi_url="/_emulator/openapi.json" if admin else None,
    )
    app.state.emulator = emulator
    for router in API_ROUTERS:
        app.include_router(router)
    if admin:
        from .admin import router as admin_router

        app.include_router(admin_router)
        app.include_router(audit.admin_router)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(EmulatorMiddleware, emulator=emulator)
    install_log_filter()
    return app
