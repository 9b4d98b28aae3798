"""Tools the relay integration tests load through `TOOL_MODULES`."""

from __future__ import annotations

import os

from redis import Redis

from workers import ToolContext, tool

_redis: Redis | None = None


def redis() -> Redis:
    global _redis
    if _redis is None:
        _redis = Redis.from_url(os.environ["REDIS_URL"])
    return _redis


@tool(timeout=5)
def ping(key: str) -> str:
    """Counts its runs under `key` and answers with the count."""
    return str(redis().incr(f"test:runs:{key}"))


@tool(timeout=5)
async def last_words(ctx: ToolContext) -> str:
    """What the caller said last, as the relay saw it on the socket."""
    lines = await ctx.transcript()
    said = [line.text for line in lines if line.role == "user"]
    return said[-1] if said else "(nothing)"
