"""Redis connections every process uses, with timeouts short enough to fail fast, and replies as text."""

from __future__ import annotations

from redis import Redis
from redis.asyncio import Redis as AsyncRedis


def connect(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0, health_check_interval=30)


def connect_async(url: str) -> AsyncRedis:
    """A client for one event loop (its connections are made on the loop that first uses it)."""
    return AsyncRedis.from_url(url, socket_connect_timeout=1.0, health_check_interval=30)


def text(value: object) -> str | None:
    """A Redis reply as text: redis-py types them `bytes | str` (it depends on `decode_responses`)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
