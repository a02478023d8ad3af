"""Admission control for the ASGI prediction path: answer 503 at once, never queue without bound.

The fast path runs models inline on the event loop, so a process serves one
prediction at a time, and under overload the backlog would otherwise pile up as
tasks (and bodies) uvicorn keeps accepting: memory and latency grow without
bound. ``InflightLimiter`` counts the predictions a process has admitted and not
yet answered:

- below the limit a request is admitted, then yields once to the event loop, so
  every request that arrived in the same loop turn is admitted or refused before
  any model runs (without that yield each request would finish before the next
  is looked at, the count would never pass 1, and nothing would be refused);
- at the limit it may wait for a slot at most ``max_wait`` seconds, and at most
  ``limit`` requests wait;
- otherwise the caller answers 503 with ``Retry-After`` straight away, before
  reading the body.

One instance per process, used from its event loop only (no locks needed).
"""

from __future__ import annotations

import asyncio
from collections import deque


class InflightLimiter:
    def __init__(self, limit: int, max_wait: float):
        self.limit = max(1, int(limit))
        self.max_wait = max(0.0, float(max_wait))
        self.inflight = 0
        self._waiters: deque[asyncio.Future] = deque()

    async def acquire(self) -> bool:
        """True when admitted (call ``release`` when done); False to refuse the request."""
        if self.inflight < self.limit and not self._waiters:
            self.inflight += 1
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError:  # the client went away
                self.release()
                raise
            return True
        if self.max_wait <= 0 or len(self._waiters) >= self.limit:
            return False
        slot = asyncio.get_running_loop().create_future()
        self._waiters.append(slot)
        try:
            await asyncio.wait_for(slot, self.max_wait)
            return True
        except TimeoutError:
            # A slot handed over just as the wait ran out is still ours.
            return slot.done() and not slot.cancelled()
        except asyncio.CancelledError:  # the client went away; pass on a slot handed to it
            if slot.done() and not slot.cancelled():
                self.release()
            raise
        finally:
            if slot in self._waiters:
                self._waiters.remove(slot)

    def release(self) -> None:
        """Hand the slot to the longest waiter, or free it."""
        while self._waiters:
            slot = self._waiters.popleft()
            if not slot.done():
                slot.set_result(True)
                return
        self.inflight -= 1
