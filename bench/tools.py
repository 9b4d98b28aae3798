"""The tools the benchmarks call (loaded by the worker with `TOOL_MODULES=bench.tools`)."""

from __future__ import annotations

import asyncio

from workers import tool

SLEEP_TOOL_TIMEOUT_SECONDS = 300.0
"""Long enough that no call of the I/O benchmark times out however long it queues (finding, not failure)."""


@tool(timeout=120)
def noop() -> str:
    """Does nothing and answers "ok": what is left is the service's own overhead."""
    return "ok"


@tool(timeout=SLEEP_TOOL_TIMEOUT_SECONDS)
async def sleep_1s() -> str:
    """Waits one second of simulated I/O, then answers "ok"."""
    await asyncio.sleep(1)
    return "ok"


@tool(timeout=5)
async def soak_slow() -> str:
    """A second of simulated I/O."""
    await asyncio.sleep(1)
    return "slow but fine"


@tool(timeout=5, fallback="That did not work.")
def soak_failing() -> str:
    """Always fails: answered tool_failed with its fallback."""
    raise RuntimeError("this tool always fails")


@tool(timeout=1, fallback="That took too long.")
async def soak_timeout() -> str:
    """Takes three times its timeout: answered timeout."""
    await asyncio.sleep(3)
    return "too late"
