"""Per-connection caps on calls in flight, shared by every hook in one process.

A connection that borrows its concurrency shares its lender's limiter, because the limiter is keyed by
the connection that owns the level. Threads (workers, sync hook) share a ``threading`` semaphore;
coroutines (the triggerer, async hook) share an ``asyncio`` semaphore per event loop.
"""

from __future__ import annotations

import asyncio
import threading
import weakref

_lock = threading.Lock()
_thread_limiters: dict[tuple[str, int], threading.BoundedSemaphore] = {}
_async_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Semaphore]]
_async_limiters = weakref.WeakKeyDictionary()


def thread_limiter(owner: str, level: int) -> threading.BoundedSemaphore:
    """Return the process-wide semaphore capping sync calls for connection ``owner`` at ``level``."""
    key = (owner, level)
    with _lock:
        limiter = _thread_limiters.get(key)
        if limiter is None:
            limiter = _thread_limiters[key] = threading.BoundedSemaphore(level)
        return limiter


def async_limiter(owner: str, level: int) -> asyncio.Semaphore:
    """Return the semaphore capping async calls for ``owner`` at ``level`` in the running event loop."""
    loop = asyncio.get_running_loop()
    with _lock:
        per_loop = _async_limiters.setdefault(loop, {})
        limiter = per_loop.get((owner, level))
        if limiter is None:
            limiter = per_loop[(owner, level)] = asyncio.Semaphore(level)
        return limiter
