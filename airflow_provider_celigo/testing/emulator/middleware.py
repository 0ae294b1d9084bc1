"""ASGI middleware for API routes: in-flight counting, faults, authentication, rate limit, request log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from email.utils import formatdate

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .core import Emulator
from .errors import envelope
from .faults import AFTER_KINDS
from .ids import iso
from .observe import RequestRecord

__all__ = ["EmulatorMiddleware", "install_log_filter"]

API_PREFIX = "/v1"


class ConnectionDropped(Exception):
    """Raised to make the server close a connection without an answer (fault ``drop``)."""


class _HideDroppedConnections(logging.Filter):
    """Keeps uvicorn from logging the tracebacks of deliberately dropped connections."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def install_log_filter() -> None:
    """Attach the dropped-connection filter to uvicorn's error logger (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideDroppedConnections) for f in logger.filters):
        logger.addFilter(_HideDroppedConnections())


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _bearer(scope: Scope) -> str | None:
    value = _header(scope, b"authorization")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _drop(send: Send) -> None:
    """Start a response the server must refuse (invalid header), so it closes the connection unanswered."""
    with contextlib.suppress(Exception):  # the server refuses the header: nothing is written
        await send({"type": "http.response.start", "status": 500, "headers": [(b"x-emulator-drop", b"\n")]})
    raise ConnectionDropped("fault plan: connection dropped")


_FAULT_RESPONSES = {
    "error_500": (500, "internal_error", "Injected fault: internal server error."),
    "error_503": (503, "service_unavailable", "Injected fault: service unavailable."),
    "storm_429": (429, "rate_limited", "Injected fault: too many requests."),
}


class EmulatorMiddleware:
    """Wraps every ``/v1`` request; admin and other paths pass straight through."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        agent = _header(scope, b"user-agent")
        record = RequestRecord(
            method=scope["method"],
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            time=iso(time.time()),
            user_agent=agent,
        )
        scope["emulator.record"] = record
        started = time.perf_counter()
        logged = False

        def log_once() -> None:
            nonlocal logged
            if not logged:
                logged = True
                record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
                self.emulator.log.add(record)

        async def send_logged(message: Message) -> None:
            # Logged before the answer leaves: a client that reads the log once it has its answer sees the call.
            if message["type"] == "http.response.start":
                log_once()
            await send(message)

        in_flight = self.emulator.in_flight
        in_flight.enter(agent)
        try:
            await self._handle(scope, receive, self._dated(send_logged), record)
        finally:
            in_flight.leave(agent)
            log_once()  # a request that ended without an answer (a dropped connection)

    def _dated(self, send: Send) -> Send:
        """Stamp every answer's ``Date`` with the emulated clock, as integrator.io's own clock would be seen.

        Clients that order events by the server's time (the provider's run identification) then agree with
        the ``createdAt`` of the emulator's jobs, which also follow the emulated clock.
        """
        clock = self.emulator.clock

        async def send_dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", formatdate(clock.now(), usegmt=True).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        return send_dated

    async def _handle(self, scope: Scope, receive: Receive, send: Send, record: RequestRecord) -> None:
        emulator = self.emulator
        decision = emulator.faults.decide(scope["method"], scope["path"])
        if decision.latency > 0:
            await asyncio.sleep(decision.latency)
        if decision.kind == "drop":
            record.fault = "drop"
            await _drop(send)
        if decision.kind is not None and decision.kind not in AFTER_KINDS:
            record.fault = decision.kind
            status, code, message = _FAULT_RESPONSES[decision.kind]
            headers = {"Retry-After": str(decision.retry_after)} if status == 429 else {}
            await self._reply(scope, receive, send, record, status, code, message, headers)
            return
        store = emulator.account_for_token(_bearer(scope))
        if store is None:
            message = "A valid bearer token is required (Authorization: Bearer <token>)."
            if emulator.config.flat_401:  # some clients report a flat body instead of the envelope
                record.status = 401
                await JSONResponse({"message": message}, status_code=401)(scope, receive, send)
                return
            await self._reply(scope, receive, send, record, 401, "unauthorized", message)
            return
        record.account = store.account_id
        scope["emulator.account"] = store
        retry_after = emulator.limiter.take(store.account_id)
        if retry_after is not None:
            message = "Rate limit exceeded: the account's request bucket is empty."
            headers = {"Retry-After": str(retry_after)}
            await self._reply(scope, receive, send, record, 429, "rate_limited", message, headers)
            return

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            await send(message)

        if decision.kind not in AFTER_KINDS and decision.latency_after <= 0:
            await self.app(scope, receive, send_and_note)
            return
        if decision.kind not in AFTER_KINDS:  # the work is done at once; its answer arrives late
            held: list[Message] = []

            async def hold(part: Message) -> None:
                held.append(part)

            await self.app(scope, receive, hold)
            await asyncio.sleep(decision.latency_after)
            for part in held:
                await send_and_note(part)
            return

        async def swallow(message: Message) -> None:
            """The handler's answer never reaches the client."""

        await self.app(scope, receive, swallow)
        record.fault = decision.kind
        if decision.kind == "drop_after":
            await _drop(send)
        status, code, message = _FAULT_RESPONSES["error_500"]
        await self._reply(scope, receive, send, record, status, code, message)

    @staticmethod
    async def _reply(
        scope: Scope,
        receive: Receive,
        send: Send,
        record: RequestRecord,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        record.status = status
        await JSONResponse(envelope(code, message), status_code=status, headers=headers)(scope, receive, send)
