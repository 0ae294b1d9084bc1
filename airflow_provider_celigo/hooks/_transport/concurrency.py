"""Per-connection caps on calls in flight, counted across every thread and every event loop of one process.

``call_limiter(owner, level)`` returns the one ``CallLimiter`` of the connection that owns the level (the
lender, when a connection borrows its concurrency). The sync hook enters it with ``with``, the async hook with
``async with``; both count against the same number, so worker threads, ``asyncio.run`` loops in threads and the
triggerer's loop together never have more than ``level`` calls in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from types import TracebackType

_Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]"]


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class CallLimiter:
    """At most ``level`` calls in flight, whoever makes them: threads and coroutines of any event loop.

    One count guarded by a ``threading.Condition``. A thread waits on the condition. A coroutine waits on a
    future of its own loop, which a release completes through ``loop.call_soon_threadsafe``: the loop is never
    blocked, there is no polling (which would add up to one poll interval of delay to each call and wake
    idle loops for nothing) and no thread is parked per waiting call (``asyncio.to_thread`` would hold a
    thread of the loop's small default executor for each one, starving other ``to_thread`` work such as
    reading connections, and a cancelled waiter's thread would still take a slot that someone must give
    back). A waiting coroutine holds no slot, so cancelling it leaks none; it takes its slot under the lock
    with no ``await`` between taking it and entering the ``async with`` body, and the body's exit releases it.

    Each release wakes one waiting thread and one waiting coroutine; whoever loses the race waits again. A
    coroutine woken but cancelled before it could take the slot passes its wake-up on to the next waiter.
    """

    def __init__(self, level: int) -> None:
        self._condition = threading.Condition()
        self._level = level
        self._in_flight = 0
        self._waiters: deque[_Waiter] = deque()

    @property
    def level(self) -> int:
        """The number of calls allowed in flight."""
        return self._level

    @property
    def in_flight(self) -> int:
        """The number of calls in flight now."""
        return self._in_flight

    def set_level(self, level: int) -> None:
        """Allow ``level`` calls in flight from now on; calls already in flight above it are let finish."""
        with self._condition:
            if level == self._level:
                return
            self._level = level
            self._condition.notify_all()
            woken = list(self._waiters)
            self._waiters.clear()
        self._wake_all(woken)

    def acquire(self) -> None:
        """Take a slot, blocking the calling thread until one is free."""
        with self._condition:
            self._condition.wait_for(lambda: self._in_flight < self._level)
            self._in_flight += 1

    async def acquire_async(self) -> None:
        """Take a slot, waiting without blocking the event loop. Cancelling the wait takes no slot."""
        loop = asyncio.get_running_loop()
        while True:
            with self._condition:
                if self._in_flight < self._level:
                    self._in_flight += 1
                    return
                future: asyncio.Future[None] = loop.create_future()
                waiter = (loop, future)
                self._waiters.append(waiter)
            try:
                await future
            except BaseException:
                with self._condition:
                    if waiter in self._waiters:
                        self._waiters.remove(waiter)
                        following = None
                    else:  # a release chose this waiter: hand its wake-up to the next one
                        following = self._next_waiter()
                self._wake_all([following] if following else [])
                raise

    def release(self) -> None:
        """Give a slot back and wake a waiting thread and a waiting coroutine. Raises RuntimeError if none is taken."""
        with self._condition:
            if self._in_flight <= 0:
                raise RuntimeError("CallLimiter released more often than acquired")
            self._in_flight -= 1
            self._condition.notify()
            following = self._next_waiter()
        self._wake_all([following] if following else [])

    def _next_waiter(self) -> _Waiter | None:
        """Remove and return the first waiting coroutine still waiting (the caller holds the lock)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter[1].done():
                return waiter
        return None

    @staticmethod
    def _wake_all(waiters: list[_Waiter]) -> None:
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits there any more
                loop.call_soon_threadsafe(_wake, future)

    def __enter__(self) -> CallLimiter:
        self.acquire()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()

    async def __aenter__(self) -> CallLimiter:
        await self.acquire_async()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.release()


_lock = threading.Lock()
_limiters: dict[str, CallLimiter] = {}


def call_limiter(owner: str, level: int) -> CallLimiter:
    """Return the process-wide limiter of connection ``owner``, allowing ``level`` calls in flight.

    There is one limiter per owner, whatever the level: a connection whose level changed while the process
    runs keeps one count, with the level last asked for.
    """
    with _lock:
        limiter = _limiters.get(owner)
        if limiter is None:
            limiter = _limiters[owner] = CallLimiter(level)
    limiter.set_level(level)
    return limiter
