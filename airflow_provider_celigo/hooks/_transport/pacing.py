"""After a 429, every thread and coroutine of the process that calls the same account waits out its Retry-After.

integrator.io rate-limits an account with a leaky bucket and answers ``429`` with ``Retry-After`` (whole
seconds) once the bucket is empty. The retry policy already makes the caller that got the 429 wait; without
a shared pause, each of the other threads of the process learns about the empty bucket by getting its
own 429 first. The pacer of a connection (keyed like the limiter, by the connection that owns the
concurrency level) remembers the moment the server said to come back, and the hooks wait for that moment
before sending. It never slows a caller down while no 429 has been seen.

The Airflow option ``[celigo] pace_after_429`` (boolean, default True; environment variable
``AIRFLOW__CELIGO__PACE_AFTER_429``) turns pacing off for a process: ``pacing_enabled()`` reads it once, and
the hooks ask it before every call. ``reset()`` forgets the pauses and the option, so that it is read again.
"""

from __future__ import annotations

import asyncio
import threading
import time

CONFIG_SECTION = "celigo"
CONFIG_OPTION = "pace_after_429"
DEFAULT_PAUSE = 1.0  # seconds, for a 429 without a usable Retry-After

_lock = threading.Lock()
_enabled: bool | None = None


def pacing_enabled() -> bool:
    """Return the Airflow option ``[celigo] pace_after_429`` (default True), read once per process.

    Raises AirflowConfigException when the option holds something that is not a boolean.
    """
    global _enabled
    enabled = _enabled
    if enabled is None:  # two threads may both read it the first time; they read the same value
        from airflow.configuration import conf

        enabled = _enabled = conf.getboolean(CONFIG_SECTION, CONFIG_OPTION, fallback=True)
    return enabled


class Pacer:
    """The moment (monotonic clock) before which calls to one account should not be sent."""

    def __init__(self) -> None:
        self._resume_at = 0.0

    def pause(self, retry_after: float | None, cap: float = 60.0) -> None:
        """Hold every caller back for ``retry_after`` seconds from now (at most ``cap``; None = DEFAULT_PAUSE).

        A pause under way is not extended: the other 429s it meets answer calls sent before it began,
        against the same empty bucket, which refills from the first 429 on.
        """
        seconds = min(max(DEFAULT_PAUSE if retry_after is None else retry_after, 0.0), cap)
        now = time.monotonic()
        with _lock:
            if now >= self._resume_at:
                self._resume_at = now + seconds

    def delay(self) -> float:
        """Return how many seconds a call should still wait (0.0 when it may go now)."""
        return max(0.0, self._resume_at - time.monotonic())

    def wait(self) -> None:
        """Block the calling thread until calls may go again."""
        seconds = self.delay()
        if seconds > 0:
            time.sleep(seconds)

    async def wait_async(self) -> None:
        """Sleep (without blocking the event loop) until calls may go again."""
        seconds = self.delay()
        if seconds > 0:
            await asyncio.sleep(seconds)


_pacers: dict[str, Pacer] = {}


def pacer_for(owner: str) -> Pacer:
    """Return the process-wide pacer of the account behind connection ``owner``."""
    with _lock:
        pacer = _pacers.get(owner)
        if pacer is None:
            pacer = _pacers[owner] = Pacer()
        return pacer


def reset() -> None:
    """Forget every pause and the cached ``pace_after_429`` option, which the next call reads again."""
    global _enabled
    with _lock:
        _pacers.clear()
        _enabled = None
