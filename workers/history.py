"""`ctx.history()`: what was said in the earlier chats of a resumed chat's group.

A chat started with `chat_start_type: resumed_chat_group` continues a conversation; its handlers can read what
was said before through Hume's chat-group events (`GET /v0/evi/chat_groups/{id}/events`, every page). The
group's lines are fetched once and cached in Redis (`contract.group_history`) while the chat lives: the
chat_ended job drops the cache (and it expires by itself after `CACHE_SECONDS`). A chat whose record says it
started a new group has no earlier chats: no request is made. The current chat's own lines are left out
(`ctx.transcript()` has them).
"""

from __future__ import annotations

import json
from typing import Any

from redis import Redis

from service.evi.chats import fetch_chat_group_events
from service.evi.webhooks import ChatStartType
from service.queue import contract
from service.redis_client import text
from workers.runtime import Runtime
from workers.transcripts import ROLES, TranscriptLine, transcript_from_events

CACHE_SECONDS = 3 * 3600
"""A bound on the cache when no chat_ended comes to drop it (Hume's longest chat is far shorter)."""


async def earlier_chats(runtime: Runtime, chat_id: str, chat_group_id: str) -> list[TranscriptLine]:
    """The group's lines from chats other than `chat_id`, oldest first (on the runtime's loop)."""
    if not chat_group_id:
        return []
    redis, settings = runtime.aredis, runtime.settings
    key = contract.group_history(chat_group_id)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(key)
        pipe.hget(contract.chat_record(chat_id), "chat_start_type")
        cached, start_type = await pipe.execute()
    if cached is None:
        if text(start_type) == ChatStartType.NEW_CHAT_GROUP:
            return []
        events = await fetch_chat_group_events(
            runtime.http, settings.hume_api_base_url, settings.hume_api_key.get_secret_value(), chat_group_id
        )
        cached = json.dumps([_cached_line(event) for event in events if event.get("type") in ROLES])
        await redis.set(key, cached, ex=CACHE_SECONDS)
    lines: list[dict[str, Any]] = json.loads(cached)
    return transcript_from_events(line for line in lines if line.get("chat_id") != chat_id)


def _cached_line(event: dict[str, Any]) -> dict[str, Any]:
    keep = ("chat_id", "type", "message_text", "timestamp")
    return {name: event.get(name) for name in keep}


def forget(redis: Redis, chat_group_id: str) -> None:
    """The chat ended: its group's cached history goes (the next chat of the group fetches it with this one)."""
    redis.delete(contract.group_history(chat_group_id))
