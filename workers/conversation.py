"""What was said in a chat, as the relay saw it on the live socket: capped, expiring, and read by
`ToolContext.transcript()` so a handler can use the caller's own words.
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from service.queue import contract
from workers.transcripts import TranscriptLine

MAX_LINES = 200
_ROLES: dict[str, Any] = {"user_message": "user", "assistant_message": "assistant"}


def line_from_socket(message: dict[str, Any], at_ms: int) -> TranscriptLine | None:
    """A final user or assistant message from the socket; None for anything else (interim ones too)."""
    role = _ROLES.get(str(message.get("type")))
    text = (message.get("message") or {}).get("content")
    if role is None or message.get("interim") or not isinstance(text, str):
        return None
    return TranscriptLine(role, text, at_ms)


async def reset(redis: Redis, chat_id: str) -> None:
    """Forget what was kept: the socket replays the whole chat on every (re)connect."""
    await redis.delete(contract.conversation(chat_id))


async def append(redis: Redis, chat_id: str, line: TranscriptLine, ttl_seconds: int) -> None:
    key = contract.conversation(chat_id)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.rpush(key, json.dumps(line.to_dict()))
        pipe.ltrim(key, -MAX_LINES, -1)
        pipe.expire(key, ttl_seconds)
        await pipe.execute()


async def read(redis: Redis, chat_id: str) -> list[TranscriptLine]:
    return [TranscriptLine(**json.loads(raw)) for raw in await redis.lrange(contract.conversation(chat_id), 0, -1)]
