"""Redis connections every process uses, with timeouts short enough to fail fast, and replies as text."""

from __future__ import annotations

from redis import Redis
from redis.asyncio import Redis as AsyncRedis


def connect(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0, health_check_interval=30)


REQUEST_TIMEOUT_SECONDS = 2.0
"""How long a web request waits for Redis in all (`asyncio.timeout` around its exchange)."""


def connect_async(url: str, *, socket_timeout: float | None = 5.0) -> AsyncRedis:
    """A client for one event loop (its connections are made on the loop that first uses it).

    `socket_timeout=None`: no timer per command (redis-py starts a task for each one it times), for a caller that
    bounds its whole exchange with `asyncio.timeout` instead, as the web tier does."""
    return AsyncRedis.from_url(url, socket_connect_timeout=1.0, socket_timeout=socket_timeout, health_check_interval=30)


def text(value: object) -> str | None:
    """A Redis reply as text: redis-py types them `bytes | str` (it depends on `decode_responses`)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
