"""Redis calls a call's answer depends on, retried while Redis is briefly away (a restart, a failover), until the
call's deadline: a claim not taken is an answer not sent, so it is worth the wait; past the deadline the
watchdog answers instead, from the deadline the intake recorded."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("evi_toolhost.redis")

T = TypeVar("T")
TRANSIENT = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
FIRST_DELAY_SECONDS = 0.05
MAX_DELAY_SECONDS = 0.5
PATIENCE_SECONDS = 10.0
"""However late the call, a step that follows a claim is retried at least this long: once a claim may have
been taken, giving up on Redis could leave a claim held by no one who sends."""


def patient_until(until: float) -> float:
    return max(until, time.time() + PATIENCE_SECONDS)


def retry_redis(operation: Callable[[], T], *, until: float) -> T:
    """`operation()`, tried again after a transient Redis error until `until` (epoch seconds), then raised."""
    delay = FIRST_DELAY_SECONDS
    while True:
        try:
            return operation()
        except TRANSIENT as exc:
            pause = _pause(exc, delay, until)
            time.sleep(pause)
            delay = min(delay * 2, MAX_DELAY_SECONDS)


async def retry_redis_async(operation: Callable[[], Awaitable[T]], *, until: float) -> T:
    """`retry_redis` for coroutines, waiting on the loop."""
    delay = FIRST_DELAY_SECONDS
    while True:
        try:
            return await operation()
        except TRANSIENT as exc:
            await asyncio.sleep(_pause(exc, delay, until))
            delay = min(delay * 2, MAX_DELAY_SECONDS)


def _pause(exc: Exception, delay: float, until: float) -> float:
    """How long to wait before the next try; re-raises `exc` when the time is up."""
    left = until - time.time()
    if left <= 0:
        raise exc
    log.warning("Redis unavailable (%s); retrying for %.1f s more", type(exc).__name__, left)
    return min(random.uniform(delay / 2, delay), left)
