"""The retry policy, as data: which failures are retried, how long to wait, when to stop.

Connection errors, timeouts, HTTP 5xx and 429 are retried; other 4xx are not. A ``Retry-After``
header is honoured (capped by the connection's ``max_retry_wait``); otherwise the wait grows
exponentially with jitter.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import tenacity
from tenacity import RetryCallState
from tenacity.wait import wait_base

from airflow_provider_celigo.exceptions import RetryableResponse, TransportError

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 30.0


def parse_retry_after(value: str | None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta-seconds or HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    from datetime import datetime, timezone

    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


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
        if hint is not None:
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
