"""Failed sign-in counters: per username and per client address, in the shared cache.

Contract:
- Only failures count (``login_failure_record``); a success clears the counter of
  that username (``login_success_record``) but not the address's, so an attacker
  who owns one account cannot reset the address limit by signing in with it.
- A window starts at the first failure and lasts ``LOGIN_THROTTLE_WINDOW``
  seconds; once a counter reaches its limit (``LOGIN_THROTTLE_USER``,
  ``LOGIN_THROTTLE_IP``), ``login_throttle_wait`` answers the seconds left in that
  window and callers refuse the attempt (429 + Retry-After) without checking the
  password. A limit of 0 is off.
- Counters live in Django's default cache: Redis when ``REDIS_URL`` is set, so
  every web process shares them. If the cache is unreachable the limits are not
  enforced (logged): sign-in keeps working when Redis is down.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def client_ip(request) -> str | None:
    """The client's address: the socket peer, or X-Forwarded-For ``NUM_PROXIES`` hops back.

    X-Forwarded-For is only read when proxies are declared, because any client
    can send that header.
    """
    meta = getattr(request, "META", None) or {}
    proxies = settings.NUM_PROXIES
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return meta.get("REMOTE_ADDR") or None


def _counters(*, username: str | None, ip: str | None) -> Iterator[tuple[str, str, int]]:
    """(count key, window-start key, limit) for each limit that applies and is on."""
    if settings.LOGIN_THROTTLE_WINDOW <= 0:
        return
    if username and settings.LOGIN_THROTTLE_USER > 0:
        # Hashed: usernames may hold characters cache keys should not.
        digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()[:32]
        yield f"login-fail:user:{digest}", f"login-fail:user:{digest}:start", settings.LOGIN_THROTTLE_USER
    if ip and settings.LOGIN_THROTTLE_IP > 0:
        yield f"login-fail:ip:{ip}", f"login-fail:ip:{ip}:start", settings.LOGIN_THROTTLE_IP


def login_throttle_wait(*, username: str | None, ip: str | None) -> int:
    """Seconds before this username may try again from this address; 0 when it may now."""
    counters = list(_counters(username=username, ip=ip))
    if not counters:
        return 0
    try:
        values = cache.get_many([key for count, start, _ in counters for key in (count, start)])
    except Exception:
        logger.warning("login throttle: the cache is unreachable; limits are not enforced", exc_info=True)
        return 0
    now = time.time()
    window = settings.LOGIN_THROTTLE_WINDOW
    wait = 0
    for count_key, start_key, limit in counters:
        if values.get(count_key, 0) >= limit:
            started = values.get(start_key, now)  # just expired: a whole window is the safe answer
            wait = max(wait, math.ceil(started + window - now), 1)
    return wait


def login_failure_record(*, username: str | None, ip: str | None) -> None:
    """Count one failed sign-in against the username and the address."""
    window = settings.LOGIN_THROTTLE_WINDOW
    now = time.time()
    try:
        for count_key, start_key, _ in _counters(username=username, ip=ip):
            # add() only writes when the key is absent, so concurrent failures in
            # several processes share one window and incr() counts each of them.
            cache.add(start_key, now, timeout=window)
            cache.add(count_key, 0, timeout=window)
            try:
                cache.incr(count_key)
            except ValueError:  # expired between add() and incr()
                cache.set(count_key, 1, timeout=window)
    except Exception:
        logger.warning("login throttle: the cache is unreachable; failure not counted", exc_info=True)


def login_success_record(*, username: str) -> None:
    """Clear the username's failures after a correct password (the address's stay)."""
    keys = [key for count, start, _ in _counters(username=username, ip=None) for key in (count, start)]
    if not keys:
        return
    try:
        cache.delete_many(keys)
    except Exception:
        logger.warning("login throttle: the cache is unreachable; failures not cleared", exc_info=True)
