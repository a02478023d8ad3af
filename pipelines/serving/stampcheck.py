"""The serving stamp (``serving.state``) read on the event loop, for the ASGI fast path.

A due stamp check used to make ``served_cached`` miss, so every request arriving
while the check ran went to a worker thread for the full slow path: a key lookup
in PostgreSQL on a fresh connection (closed again after each miss) and a Redis
``GET``. With eight connections that was up to eight threads and database
connections every ``SERVING_STAMP_TTL`` (0.25 s): the p99 of a server with
logging off was three times that of a minimal app, and the more the database was
busy (the log drainer), the more requests piled into the window.

Here the check is one asynchronous ``GET`` on the loop, shared by every request
that finds it due (single flight); they wait for it (a Redis round trip), then
answer from memory. Only a stamp that moved — a deploy, rollback or key change —
sends requests to the thread. Without Redis, or when it fails, the check falls
back to the thread as before (which reads the database's stamp).
"""

from __future__ import annotations

import asyncio
import logging
import time

from .state import STAMP_KEY, stamp_apply, stamp_due, stamp_from_redis

logger = logging.getLogger(__name__)

# After a failed read, due checks go straight to the thread for this long, so that a
# Redis outage does not cost each of them a timeout here and another one there.
RETRY_AFTER_SECONDS = 5.0


class LoopStampCheck:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client = None
        self._task: asyncio.Task | None = None
        self._down_until = 0.0

    async def fresh(self) -> bool:
        """True when the stamp is fresh (not due, or read just now); False when the
        caller must take the thread path (no Redis, or Redis failed)."""
        if not stamp_due():
            return True
        from django.conf import settings

        if not settings.REDIS_URL or (self._down_until and time.monotonic() < self._down_until):
            return False
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            import redis.asyncio

            # A client belongs to one loop (tests run a loop per request).
            self._loop, self._task = loop, None
            self._client = redis.asyncio.Redis.from_url(
                settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5
            )
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._read())
        # Shielded: a request that goes away (client disconnect) does not cancel the
        # read that the other requests wait for.
        return await asyncio.shield(self._task)

    async def _read(self) -> bool:
        try:
            value = await self._client.get(STAMP_KEY)
        except Exception:  # noqa: BLE001 - the thread path reads the database's stamp
            logger.warning("serving stamp: Redis unreachable from the event loop; checking in a thread")
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            return False
        self._down_until = 0.0
        stamp_apply(stamp_from_redis(value))
        return True


loop_stamp = LoopStampCheck()
