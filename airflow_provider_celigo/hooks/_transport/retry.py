"""The retry policy, as data: which failures are retried, how long to wait, when to stop.

Connection errors, timeouts, HTTP 5xx and 429 are retried; other 4xx are not. A usable ``Retry-After``
header (on a 429 or a 5xx) is honoured, capped by the connection's ``max_retry_wait``; without one (or with
a negative or unreadable one) the wait grows exponentially with jitter. ``retrying`` builds the policy for
one call of either hook.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Literal, overload

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

    429 and 503 are refusals before any work; a dropped connection, a timeout or a 500/502/504 are not.
    """
    if isinstance(error, TransportError):
        return True
    return isinstance(error, RetryableResponse) and error.status not in (429, 503)


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


def retry_policy(max_retries: int, max_wait: float) -> dict[str, Any]:
    """Return tenacity keyword arguments for the policy: stop, wait, retry, reraise."""
    return {
        "stop": tenacity.stop_after_attempt(max_retries + 1),
        "wait": wait_retry_after(
            tenacity.wait_exponential_jitter(multiplier=BACKOFF_INITIAL, max=BACKOFF_MAX, jitter=BACKOFF_INITIAL),
            cap=max_wait,
        ),
        "retry": tenacity.retry_if_exception(is_retryable),
        "reraise": True,
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
