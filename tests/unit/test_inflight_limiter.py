"""The per-process admission gate of the ASGI prediction path."""

import asyncio

from pipelines.serving.limits import InflightLimiter
from tests.conftest import run_async


async def _arrivals(limiter: InflightLimiter, n: int, work: float = 0.0) -> list[bool]:
    """n requests arriving in the same loop turn; each admitted one holds its slot for ``work`` s."""

    async def one() -> bool:
        if not await limiter.acquire():
            return False
        try:
            await asyncio.sleep(work)
            return True
        finally:
            limiter.release()

    return await asyncio.gather(*(one() for _ in range(n)))


def test_requests_arriving_together_are_admitted_up_to_the_limit_and_the_rest_refused_at_once():
    limiter = InflightLimiter(2, max_wait=0)

    admitted = run_async(_arrivals(limiter, 5))

    assert admitted == [True, True, False, False, False]
    assert limiter.inflight == 0


def test_a_request_waits_for_a_slot_freed_within_the_wait():
    limiter = InflightLimiter(1, max_wait=1.0)

    admitted = run_async(_arrivals(limiter, 2, work=0.01))

    assert admitted == [True, True]
    assert limiter.inflight == 0


def test_a_wait_that_runs_out_is_refused_and_leaves_no_slot_taken():
    limiter = InflightLimiter(1, max_wait=0.01)

    admitted = run_async(_arrivals(limiter, 2, work=0.2))

    assert admitted == [True, False]
    assert limiter.inflight == 0


def test_at_most_limit_requests_wait():
    limiter = InflightLimiter(1, max_wait=1.0)

    admitted = run_async(_arrivals(limiter, 4, work=0.01))

    assert admitted == [True, True, False, False]
    assert limiter.inflight == 0
