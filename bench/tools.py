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
