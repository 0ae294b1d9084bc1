"""Every error the provider raises, in one hierarchy, and the parser that reads integrator.io error bodies.

- ``CeligoError`` (an ``AirflowException``): the base of all of them.
  - ``CeligoConfigError`` (also a ``ValueError``): a connection field or an argument the provider cannot use.
  - ``CeligoApiError``: integrator.io answered with an error, or with nothing usable.
    - ``CeligoNotFoundError``: a 404 (what was asked for does not exist).
    - ``CeligoWriteUnclearError``: a write's answer was lost and looking cannot tell whether it was carried out.
    - ``RetryableResponse``: a 429 or 5xx answer, worth another attempt.
    - ``TransportError``: no answer (refused, dropped, timed out).
  - ``CeligoJobError``: a flow job ended in a way the task's error policy fails.
  - ``CeligoRunUnclearError``: after a lost answer or a crash, several jobs could be this task's run.
  - ``InvalidJobDocument``: a job document lacks what the provider needs.
  - ``DeadlineReached``: a wait's deadline passed while the job was still active.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from airflow_provider_celigo._compat import AirflowException

__all__ = [
    "CeligoApiError",
    "CeligoConfigError",
    "CeligoError",
    "CeligoJobError",
    "CeligoNotFoundError",
    "CeligoRunUnclearError",
    "CeligoWriteUnclearError",
    "DeadlineReached",
    "InvalidJobDocument",
    "RetryableResponse",
    "TransportError",
    "parse_error_body",
]

_MAX_MESSAGE_CHARS = 500
_ApiErrorT = TypeVar("_ApiErrorT", bound="CeligoApiError")


class CeligoError(AirflowException):
    """Base class of every error this provider raises."""


class CeligoConfigError(CeligoError, ValueError):
    """A Celigo connection or operator argument holds a value the provider cannot use."""


class CeligoApiError(CeligoError):
    """integrator.io answered with an error status, or with a body the provider cannot read.

    Carries ``status`` (HTTP status, 0 when no answer arrived), ``code`` and ``message`` from the error
    body, the request ``method`` and ``path`` (never the token or the query string's secrets), and
    ``field`` when integrator.io names one. ``hint``, when given, is the advice shown after the message in
    place of the generic one for the status ("" shows none).
    """

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        code: str = "",
        message: str = "",
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        hint: str | None = None,
    ) -> None:
        self.method, self.path, self.status = method, path, status  # the request, and what it got
        self.code, self.message, self.field, self.errors = code, message, field, errors or []  # the error body
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.method} {self.path}"
        status = f"HTTP {self.status}" if self.status else "no answer"
        code = f" {self.code}" if self.code else ""
        field = f" (field: {self.field})" if self.field else ""
        own = getattr(self, "hint", None)  # errors pickled before hints existed have none
        hint = _HINTS.get(self.status, "") if own is None else f" -- {own}" if own else ""
        return f"integrator.io {status}{code} on {where}: {self.message}{field}{hint}"

    def with_hint(self: _ApiErrorT, hint: str) -> _ApiErrorT:
        """Return a copy of this error (same class and fields) whose advice after the message is ``hint``."""
        return _rebuild_api_error({**self.__dict__, "hint": hint}, type(self))

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__ needs help to survive pickling (Airflow ships exceptions between processes).
        return (_rebuild_api_error, (self.__dict__.copy(), type(self)))


def _rebuild_api_error(state: dict[str, Any], cls: type[_ApiErrorT]) -> _ApiErrorT:
    """Return an error of class ``cls`` with the fields ``state``, without calling its ``__init__``."""
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, str(error))
    return error


class CeligoNotFoundError(CeligoApiError):
    """integrator.io answered 404: the resource, state key or recycle-bin entry does not exist (``status`` 404)."""


class CeligoWriteUnclearError(CeligoApiError):
    """A write's answer was lost (the request may have been carried out) and looking cannot tell whether it was.

    The write was not sent again, so that it cannot happen twice; ``hint`` says what to check in integrator.io
    before repeating it. Raised from the lost answer's error (``__cause__``); ``status`` is that error's.
    """


class CeligoRunUnclearError(CeligoError):
    """The evidence cannot tell which flow job is this task's run (several were created after its request).

    Carries ``flow_id`` and ``job_ids`` (the candidates, earliest first); nothing was started or adopted.
    """

    def __init__(self, message: str, flow_id: str, job_ids: list[str]) -> None:
        self.flow_id = flow_id
        self.job_ids = job_ids
        super().__init__(message)


class CeligoJobError(CeligoError):
    """A flow job ended in a way the task's policy treats as a failure; carries the job ``summary``."""

    def __init__(self, message: str, summary: dict[str, Any] | None = None) -> None:
        self.summary = summary or {}
        super().__init__(message)


class RetryableResponse(CeligoApiError):
    """An answer worth trying again (5xx or 429); ``retry_after`` holds the server's hint in seconds."""

    def __init__(self, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)


class TransportError(CeligoApiError):
    """No usable answer arrived: connection refused or dropped, a DNS failure, a TLS failure, or a timeout.

    Besides ``CeligoApiError``'s fields it carries ``target`` (the ``host:port`` tried, "" when unknown),
    ``cause`` (what went wrong there, e.g. "connection refused"), ``reached`` (False when no connection was
    ever made) and, once the retries ran out, ``tries`` and ``elapsed`` (seconds over all of them).
    """

    def __init__(
        self,
        *,
        target: str = "",
        cause: str = "",
        reached: bool = False,
        tries: int = 0,
        elapsed: float = 0.0,
        **kwargs: Any,
    ) -> None:
        self.target = target
        self.cause = cause
        self.reached = reached
        self.tries = tries
        self.elapsed = elapsed
        super().__init__(**kwargs)

    def __str__(self) -> str:
        target = getattr(self, "target", "")  # errors pickled before targets existed have none
        if not target:
            return super().__str__()
        lead = "no complete answer from" if self.reached else "could not reach"
        tries = self.tries
        took = f"{self.elapsed:.1f}" if self.elapsed < 10 else f"{self.elapsed:.0f}"
        after = f" after {tries} {'try' if tries == 1 else 'tries'} in {took} s" if tries else ""
        advice = self.hint if self.hint is not None else _TRANSPORT_ADVICE
        where = f"integrator.io: {lead} {target} ({self.cause}) on {self.method} {self.path}{after}"
        return f"{where}: {advice}" if advice else where

    def after_tries(self, tries: int, elapsed: float) -> TransportError:
        """Return a copy of this error that says how many attempts were made and how long they took."""
        return _rebuild_api_error({**self.__dict__, "tries": tries, "elapsed": elapsed}, type(self))


_TRANSPORT_ADVICE = "check the connection's region/base_url and the network"


class InvalidJobDocument(CeligoError):
    """A job document lacks what the provider needs (an id, a known status)."""


class DeadlineReached(CeligoError):
    """The deadline passed while the job was still active; ``job`` is its last document."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        super().__init__(f"deadline reached while Celigo job {job.get('_id')} was {job.get('status')}")


_HINTS = {
    401: " -- check the API token in the Celigo connection's password field",
    403: " -- the API token lacks permission for this resource; grant it in integrator.io",
    404: " -- check the id (24 hex characters) and that the token's account owns it",
    429: " -- integrator.io rate limit (too many calls against this account)",
}


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_MESSAGE_CHARS else text[: _MAX_MESSAGE_CHARS - 3] + "..."


def parse_error_body(body: bytes | str | None, content_type: str | None = None) -> tuple[str, str, str | None, list]:
    """Read an integrator.io error body.

    Returns ``(code, message, field, errors)``. Understands the envelope
    ``{"errors": [{"code", "message", "field"}]}``, a flat ``{"message": ...}`` and anything else
    (HTML pages from proxies, truncated JSON), which becomes a short description. Never raises.
    """
    if body is None:
        return "", "empty response body", None, []
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else str(body)
    if not text.strip():
        return "", "empty response body", None, []
    try:
        data = json.loads(text)
    except ValueError:
        lowered = text.lstrip()[:200].lower()
        if lowered.startswith("<!doctype html") or lowered.startswith("<html") or "html" in (content_type or ""):
            return "", f"non-JSON (HTML) error page, probably from a proxy: {_clip(_strip_tags(text))}", None, []
        return "", f"unreadable (non-JSON or truncated) body: {_clip(text)}", None, []
    return _from_json(data)


def _from_json(data: Any) -> tuple[str, str, str | None, list]:
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            items = [e for e in errors if isinstance(e, dict)]
            if items:
                first = items[0]
                messages = "; ".join(_clip(str(e.get("message", ""))) for e in items if e.get("message"))
                field = first.get("field")
                return (
                    str(first.get("code", "")),
                    messages or "(no message)",
                    str(field) if field not in (None, "") else None,
                    items,
                )
        if "message" in data:
            return str(data.get("code", "")), _clip(str(data["message"])), None, []
    return "", f"unexpected error body: {_clip(json.dumps(data, default=str))}", None, []


def _strip_tags(html: str) -> str:
    out, inside = [], False
    for char in html:
        if char == "<":
            inside = True
        elif char == ">":
            inside = False
            out.append(" ")
        elif not inside:
            out.append(char)
    return "".join(out)
