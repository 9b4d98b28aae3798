"""Tools the integration tests of what the caller hears (and what stops a call) load through `TOOL_MODULES`.

Each leaves traces in the test Redis under its `key` (`test:begun:`, `test:cancelled:`, `test:finished:`, epoch
seconds), so a test can see when it started and how it ended.
"""

from __future__ import annotations

import asyncio
import time

from tests.support.tool_redis import redis
from workers import ToolContext, ToolResult, tool


def note(what: str, key: str) -> None:
    redis().set(f"test:{what}:{key}", repr(time.time()), ex=300)


async def run_for(seconds: float, key: str) -> None:
    note("begun", key)
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        note("cancelled", key)
        raise
    note("finished", key)


@tool(timeout=5, say_on_start="One moment.", say_if_slow=["Still checking.", "Almost there."], slow_after=0.5)
async def voice_lookup(key: str, seconds: float) -> str:
    """A lookup that takes `seconds`, and says so."""
    await run_for(seconds, key)
    return f"found {key}"


@tool(background=True, ack="I've started that and will tell you when it's done.", timeout=10)
async def voice_book(key: str, seconds: float) -> str:
    """A booking that runs in the background for `seconds`."""
    await run_for(seconds, key)
    return f"Your booking {key} is confirmed."


@tool(background=True, ack="Booking it.", timeout=10, on_chat_end="finish")
async def voice_book_anyway(key: str, seconds: float) -> str:
    """A background booking that completes even when the caller hangs up."""
    await run_for(seconds, key)
    return f"Your booking {key} is confirmed."


@tool(timeout=8)
async def voice_cancel(key: str, seconds: float = 5) -> str:
    """Runs `seconds`; cancelled when its chat ends (the default)."""
    await run_for(seconds, key)
    return "done"


@tool(timeout=8, on_chat_end="finish")
async def voice_finish(key: str, seconds: float = 5) -> str:
    """Runs `seconds`, to its end whatever happens to the chat."""
    await run_for(seconds, key)
    return "paid"


@tool(timeout=8, cancel_on_interrupt=True, say_on_start="Searching.")
async def voice_search(key: str, seconds: float = 5) -> str:
    """A long search the caller may talk over."""
    await run_for(seconds, key)
    return "found"


@tool(timeout=5)
def voice_remember(key: str) -> ToolResult:
    """Puts `key` into the session's variables with its answer."""
    return ToolResult(content=f"Noted {key}.", variables={"booking_ref": key}, context=f"The booking is {key}.")


@tool(timeout=5)
async def voice_earlier(ctx: ToolContext) -> list[str]:
    """What was said in the earlier chats of this chat's group."""
    return [f"{line.role}: {line.text}" for line in await ctx.history()]
