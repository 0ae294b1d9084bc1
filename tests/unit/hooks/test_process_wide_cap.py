"""``concurrency_level`` bounds the calls in flight of a whole process: every thread and every event loop.

Measured by a loopback ``http.server`` that sleeps 50 ms per request and counts the requests in flight.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from loopback import SlowServer, serving

from airflow_provider_celigo.connection import pool_name_for, settings_from_connection
from airflow_provider_celigo.exceptions import CeligoConfigError
from airflow_provider_celigo.hooks._transport.concurrency import CallLimiter, call_limiter
from airflow_provider_celigo.hooks.celigo import CeligoAsyncHook, CeligoHook

Define = Callable[..., str]
DELAY = 0.05
THREADS, LOOPS, CALLS_EACH = 4, 2, 6


@pytest.fixture
def server() -> Iterator[SlowServer]:
    with serving(SlowServer(DELAY)) as server:
        yield server


def hammer(conn_ids: list[str]) -> None:
    """Call through every conn id from ``THREADS`` threads (sync hook) and ``LOOPS`` ``asyncio.run`` loops at once."""
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS + LOOPS)

    def sync_worker(index: int) -> None:
        hook = CeligoHook(conn_ids[index % len(conn_ids)])
        try:
            start.wait()
            for _ in range(CALLS_EACH):
                hook.request("GET", "/ping")
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            hook.close()

    async def loop_main(index: int) -> None:
        hooks = [CeligoAsyncHook(conn_ids[(index + i) % len(conn_ids)]) for i in range(CALLS_EACH)]
        try:
            await asyncio.gather(*(h.request("GET", "/ping") for h in hooks))
        finally:
            for h in hooks:
                await h.aclose()

    def loop_worker(index: int) -> None:
        try:
            start.wait()
            asyncio.run(loop_main(index))
        except BaseException as error:  # reported by the test
            errors.append(error)

    workers = [threading.Thread(target=sync_worker, args=(i,)) for i in range(THREADS)]
    workers += [threading.Thread(target=loop_worker, args=(i,)) for i in range(LOOPS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not errors, errors


def test_threads_and_event_loops_together_never_exceed_the_level(celigo_conn: Define, server: SlowServer) -> None:
    conn_id = celigo_conn("process_cap2", base_url=server.base_url, concurrency_level=2, max_retries=0)
    hammer([conn_id])
    assert server.served == (THREADS + LOOPS) * CALLS_EACH
    assert server.peak == 2


def test_the_measurement_sees_more_at_a_higher_level(celigo_conn: Define, server: SlowServer) -> None:
    """Control: the same load at level 6 reaches more than 2 in flight, so the peak of 2 is the limiter's doing."""
    conn_id = celigo_conn("process_cap6", base_url=server.base_url, concurrency_level=6, max_retries=0)
    hammer([conn_id])
    assert server.peak > 2


def test_a_borrower_naming_its_lender_in_another_case_shares_its_cap_and_pool(
    celigo_conn: Define, server: SlowServer
) -> None:
    lender = celigo_conn("case_lender", base_url=server.base_url, concurrency_level=2, max_retries=0)
    borrower = celigo_conn(
        "case_borrower", base_url=server.base_url, concurrency_level=20, borrow_concurrency_from="Case_LENDER"
    )
    settings = CeligoHook(borrower).settings
    assert (settings.concurrency_owner, settings.pool_name) == (lender, pool_name_for(lender))
    assert settings.pool_name == CeligoHook(lender).settings.pool_name == "celigo_case_lender"
    hammer([lender, borrower])
    assert server.peak == 2


# -- the limiter itself ----------------------------------------------------------------------------------


def test_one_limiter_per_owner_whatever_the_level() -> None:
    first = call_limiter("limits_owner", 2)
    assert call_limiter("limits_owner", 3) is first and first.level == 3


def test_a_cancelled_async_waiter_takes_no_slot() -> None:
    limiter = CallLimiter(1)
    limiter.acquire()  # a thread holds the only slot

    async def main() -> None:
        waiter = asyncio.create_task(limiter.acquire_async())
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter

    asyncio.run(main())
    assert limiter.in_flight == 1
    limiter.release()
    assert limiter.in_flight == 0
    limiter.acquire()  # the slot is free: this does not block
    limiter.release()


def test_a_waiter_cancelled_after_its_wake_up_hands_it_on() -> None:
    limiter = CallLimiter(1)
    limiter.acquire()

    async def main() -> None:
        first = asyncio.create_task(limiter.acquire_async())
        second = asyncio.create_task(limiter.acquire_async())
        await asyncio.sleep(0.05)
        limiter.release()  # wakes the first waiter (scheduled on this loop) ...
        first.cancel()  # ... which is cancelled before it runs: the second must get the slot
        await asyncio.wait_for(second, timeout=2)
        assert first.cancelled()
        assert limiter.in_flight == 1
        limiter.release()

    asyncio.run(main())
    assert limiter.in_flight == 0


def test_async_waiters_do_not_block_their_loop() -> None:
    limiter = CallLimiter(1)
    limiter.acquire()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        for _ in range(10):
            await asyncio.sleep(0.01)
            ticks += 1

    async def main() -> None:
        waiter = asyncio.create_task(limiter.acquire_async())
        await tick()  # runs while the waiter waits
        threading.Timer(0.05, limiter.release).start()  # a release from another thread wakes it
        await asyncio.wait_for(waiter, timeout=2)
        limiter.release()

    asyncio.run(main())
    assert ticks == 10 and limiter.in_flight == 0


# -- conn-id case rules ----------------------------------------------------------------------------------


class _Conn:
    """A connection as the metadata DB returns it (no ``AIRFLOW_CONN_*`` variable behind it)."""

    def __init__(self, conn_id: str, **extra: Any) -> None:
        self.conn_id = conn_id
        self.conn_type: str | None = "celigo"
        self.password: str | None = "token"
        self.extra_dejson = extra


def test_db_connection_ids_keep_their_case() -> None:
    lender = _Conn("Prod", concurrency_level=4)
    # A case-insensitive DB collation finds "Prod" for "prod": the borrower is keyed by the lender's own spelling.
    settings = settings_from_connection(_Conn("nightly", borrow_concurrency_from="prod"), lambda _: lender)
    assert (settings.concurrency_owner, settings.pool_name, settings.concurrency_level) == ("Prod", "celigo_Prod", 4)
    assert settings_from_connection(lender).concurrency_owner == "Prod"  # PostgreSQL: "Prod" and "prod" differ


def test_an_env_connection_borrowing_from_itself_in_another_case_is_a_cycle(celigo_conn: Define) -> None:
    conn_id = celigo_conn("case_self", borrow_concurrency_from="CASE_SELF")
    with pytest.raises(CeligoConfigError, match="from itself"):
        _ = CeligoHook(conn_id).settings
