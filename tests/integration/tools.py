"""Tools and hooks the worker integration tests load through `TOOL_MODULES`.

They leave traces in the test Redis (`test:*` keys) so a test can see how often and where they ran.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

from service.evi.webhooks import WebhookEventChatEnded, WebhookEventChatStarted
from tests.support.tool_redis import redis
from workers import ChatContext, TranscriptLine, on_chat_ended, on_chat_started, tool


@tool(timeout=5)
async def count_runs(key: str) -> int:
    """Counts its runs; slow enough that duplicate jobs overlap."""
    runs = int(redis().incr(f"test:runs:{key}"))
    await asyncio.sleep(0.3)
    return runs


@tool(timeout=8)
async def await_one_second(key: str) -> str:
    """One second of I/O; notes when it ran (epoch seconds, start and end) under `test:ran:{key}`."""
    started = time.time()
    redis().incr(f"test:begun:{key}")
    await asyncio.sleep(1)
    redis().rpush(f"test:ran:{key}", json.dumps([started, time.time()]))
    return "ok"


@tool(timeout=1, fallback="That took too long.")
async def sleep_forever() -> None:
    await asyncio.Event().wait()


@tool(timeout=1, fallback="That took too long.")
def block_forever() -> None:
    time.sleep(3600)


@tool(timeout=2)
async def hold(key: str) -> str:
    """Says which process runs it, then takes far longer than its timeout (the test kills the process)."""
    redis().set(f"test:pid:{key}", os.getpid())
    await asyncio.sleep(30)
    return "never"


@on_chat_started
def note_start(event: WebhookEventChatStarted, ctx: ChatContext) -> None:
    redis().set(f"test:started:{event.chat_id}", ctx.caller_number or "")


@on_chat_ended
def keep_transcript(event: WebhookEventChatEnded, ctx: ChatContext, transcript: list[TranscriptLine]) -> None:
    if transcript:
        redis().rpush(f"test:transcript:{event.chat_id}", *(json.dumps(line.to_dict()) for line in transcript))
    redis().set(f"test:ended:{event.chat_id}", len(transcript))



@tool(timeout=6)
async def block_three_seconds(key: str) -> str:
    """Blocks its event loop for 3 s (a blocking call inside async def, on purpose)."""
    redis().set(f"test:blocking:{key}", 1)
    time.sleep(3)
    return "finally"


@tool(timeout=5)
async def quick() -> str:
    """Answers at once."""
    return "quick"


@tool(background=True, ack="Booking it.", timeout=1, fallback="The booking did not finish. Offer to try again.")
async def background_hold(key: str) -> str:
    """A background run that says which process runs it, then outlives its timeout (the test kills the process)."""
    redis().set(f"test:pid:{key}", os.getpid())
    await asyncio.sleep(30)
    return "never"
