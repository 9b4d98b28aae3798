"""Each tool's timeout and fallback, published to Redis by every worker as it starts, for the code that must
know them without importing the tools: the intake (a call's deadline) and the watchdog (its timeout answer)."""

from __future__ import annotations

from redis import Redis

from service.queue import contract
from workers.handlers.registry import Registry


def publish_tools(redis: Redis, registry: Registry, default_timeout_seconds: float) -> None:
    tools = registry.tools()
    if not tools:
        return
    timeouts = {
        tool.name: int((tool.answer_timeout or default_timeout_seconds) * 1000) for tool in tools
    }
    fallbacks = {tool.name: tool.fallback for tool in tools if tool.fallback}
    without = [tool.name for tool in tools if not tool.fallback]
    with redis.pipeline(transaction=True) as pipe:
        pipe.hset(contract.TOOL_TIMEOUTS, mapping=timeouts)  # type: ignore[arg-type]
        if fallbacks:
            pipe.hset(contract.TOOL_FALLBACKS, mapping=fallbacks)  # type: ignore[arg-type]
        if without:
            pipe.hdel(contract.TOOL_FALLBACKS, *without)
        pipe.execute()
