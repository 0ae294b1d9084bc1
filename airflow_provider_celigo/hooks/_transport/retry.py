"""The retry policy, as data: which failures are retried, how long to wait, when to stop.

Connection errors, timeouts, HTTP 5xx and 429 are retried; other 4xx are not. A usable ``Retry-After``
header (on a 429 or a 5xx) is honoured, capped by the connection's ``max_retry_wait``; without one (or with
a negative or unreadable one) the wait grows exponentially with jitter. ``retrying`` builds the policy for
one call of either hook.

A write that must not happen twice is sent with ``send_or_look``: after a failure that may have reached the
handler (``may_have_reached_the_handler``), it looks for the write's effect before sending it again.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Generic, Literal, Protocol, TypeVar, overload

import tenacity
from tenacity import RetryCallState
from tenacity.wait import wait_base

from airflow_provider_celigo.connection import CeligoSettings
from airflow_provider_celigo.exceptions import RetryableResponse, TransportError

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 30.0


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta-seconds or HTTP date), else None.

    None also for a negative, infinite or unreadable value, so that the caller falls back to its own
    backoff instead of retrying at once; an HTTP date in the past means 0.0 (come back now). Never raises.
    """
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
    except OverflowError:  # pragma: no cover - a date at the edge of datetime's range
        return None


def may_have_reached_the_handler(error: BaseException) -> bool:
    """True when a failed request may still have been carried out: its answer, not the request, was lost.

    429 and 503 are refusals before any work, and so is a connection that was never established (refused,
    unknown host, connect timeout); a dropped connection, a timeout or a 500/502/504 are not.
    """
    if isinstance(error, TransportError):
        return not never_connected(error)
    return isinstance(error, RetryableResponse) and error.status not in (429, 503)


def _connect_failures() -> tuple[type[BaseException], ...]:
    """Return the exception types that mean "no connection was made", from the HTTP libraries loaded so far."""
    found: list[type[BaseException]] = [ConnectionRefusedError]
    urllib3 = sys.modules.get("urllib3.exceptions")
    if urllib3 is not None:  # NewConnectionError (refused, unknown host) is a ConnectTimeoutError
        found.append(urllib3.ConnectTimeoutError)
    requests = sys.modules.get("requests.exceptions")
    if requests is not None:
        found.append(requests.ConnectTimeout)
    httpx = sys.modules.get("httpx")
    if httpx is not None:
        found.extend((httpx.ConnectError, httpx.ConnectTimeout))
    return tuple(found)


def error_chain(error: BaseException) -> list[BaseException]:
    """Return ``error`` and every error behind it (causes, contexts, urllib3 reasons, wrapped args), once each,
    nearest first."""
    found: list[BaseException] = []
    seen: set[int] = set()
    pending: list[Any] = [error]
    while pending:
        item = pending.pop(0)
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        found.append(item)
        pending.extend([item.__cause__, item.__context__, getattr(item, "reason", None), *item.args])
    return found


def never_connected(error: BaseException) -> bool:
    """True when the errors behind ``error`` (causes, contexts, reasons) show no connection was ever made.

    Such a request was not sent, so it cannot have been carried out. Never raises.
    """
    failures = _connect_failures()
    return any(isinstance(item, failures) for item in error_chain(error))


def is_retryable(error: BaseException) -> bool:
    """True for the failures worth another attempt."""
    return isinstance(error, (RetryableResponse, TransportError))


class wait_retry_after(wait_base):
    """Wait what the server's ``Retry-After`` asks (capped), else fall back to ``fallback``."""

    def __init__(self, fallback: wait_base, cap: float) -> None:
        self.fallback = fallback
        self.cap = cap

    def __call__(self, retry_state: RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        hint = getattr(error, "retry_after", None)
        if isinstance(hint, (int, float)) and math.isfinite(hint) and hint >= 0:
            return min(float(hint), self.cap)
        return min(self.fallback(retry_state), self.cap)


def give_up(retry_state: RetryCallState) -> None:
    """Raise the last attempt's error once the retries ran out; a TransportError says how many and how long.

    tenacity calls this in place of re-raising; it never returns.
    """
    outcome = retry_state.outcome
    error = outcome.exception() if outcome is not None else None
    if isinstance(error, TransportError):
        raise error.after_tries(retry_state.attempt_number, retry_state.seconds_since_start or 0.0) from None
    if outcome is None:  # pragma: no cover - tenacity gives up only after an attempt
        raise AssertionError("the retry policy gave up before any attempt")
    outcome.result()  # re-raises the last error, with its traceback
    raise AssertionError("unreachable: the policy gives up only on an error")  # pragma: no cover


def retry_policy(max_retries: int, max_wait: float) -> dict[str, Any]:
    """Return tenacity keyword arguments for the policy: stop, wait, retry, reraise, give_up."""
    return {
        "stop": tenacity.stop_after_attempt(max_retries + 1),
        "wait": wait_retry_after(
            tenacity.wait_exponential_jitter(multiplier=BACKOFF_INITIAL, max=BACKOFF_MAX, jitter=BACKOFF_INITIAL),
            cap=max_wait,
        ),
        "retry": tenacity.retry_if_exception(is_retryable),
        "reraise": True,
        "retry_error_callback": give_up,
    }


BeforeSleep = Callable[[RetryCallState], None]


@overload
def retrying(
    settings: CeligoSettings, *, before_sleep: BeforeSleep, async_: Literal[False] = False
) -> tenacity.Retrying: ...


@overload
def retrying(
    settings: CeligoSettings, *, before_sleep: BeforeSleep, async_: Literal[True]
) -> tenacity.AsyncRetrying: ...


def retrying(
    settings: CeligoSettings, *, before_sleep: BeforeSleep, async_: bool = False
) -> tenacity.Retrying | tenacity.AsyncRetrying:
    """Return the retry policy for one call on this connection (``max_retries``, ``max_retry_wait``).

    A ``tenacity.Retrying`` (``tenacity.AsyncRetrying`` with ``async_=True``) that re-raises the last error
    once the retries run out and calls ``before_sleep`` before each wait.
    """
    policy = retry_policy(settings.max_retries, settings.max_retry_wait)
    if async_:
        return tenacity.AsyncRetrying(**policy, before_sleep=before_sleep)
    return tenacity.Retrying(**policy, before_sleep=before_sleep)


T = TypeVar("T")


class _Warns(Protocol):
    """A logger: what ``send_or_look`` needs of one."""

    def warning(self, msg: str, /, *args: Any) -> Any: ...


@dataclass(frozen=True)
class Found(Generic[T]):
    """What looking found after a lost answer: the write's outcome, and what it is, for the log."""

    value: T
    description: str


def send_or_look(
    policy: tenacity.Retrying,
    send: Callable[[], T],
    look: Callable[[BaseException], Found[T] | None],
    *,
    what: str,
    log: _Warns,
) -> T:
    """Send a write under ``policy``; after an answer that may have been lost, look before sending it again.

    Once an attempt fails in a way that may have reached the handler (``may_have_reached_the_handler``),
    every later attempt first calls ``look`` with that error: a ``Found`` means the write was carried out
    (its value is returned, and a warning naming ``what``, e.g. ``POST /v1/exports``, says so); None means
    it was not, and ``send`` runs again. Refusals before the handler (429, 503, no connection) are simply
    sent again.

    Returns what ``send`` or ``look`` gave. Raises the last error when the retries run out, and whatever
    ``look`` raises (``CeligoWriteUnclearError`` when looking cannot tell; a failed lookup is retried).
    """
    lost: BaseException | None = None
    for attempt in policy:
        with attempt:
            if lost is not None:
                found = look(lost)
                if found is not None:
                    log.warning(
                        "The answer to %s was lost (%s), but it was carried out: found %s; not sending it again",
                        what,
                        lost,
                        found.description,
                    )
                    return found.value
            try:
                return send()
            except Exception as error:
                if may_have_reached_the_handler(error):
                    lost = error
                raise
    raise AssertionError("unreachable: the policy re-raises the last error")  # pragma: no cover
