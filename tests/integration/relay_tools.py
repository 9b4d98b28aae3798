"""Tools the relay integration tests load through `TOOL_MODULES`."""

from __future__ import annotations

from tests.support.tool_redis import redis
from workers import ToolContext, tool


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
