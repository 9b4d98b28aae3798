"""Telling the relays which chats are active: the chat lifecycle jobs call these."""

from __future__ import annotations

from redis import Redis

from service.queue import contract


def announce_chat(redis: Redis, chat_id: str, start_ms: int) -> None:
    """A chat started: relays should hold a socket for it (one of them wakes up at once)."""
    with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(contract.ACTIVE_CHATS, {chat_id: start_ms})
        pipe.publish(contract.NEW_CHAT_CHANNEL, chat_id)
        pipe.execute()


def retire_chat(redis: Redis, chat_id: str) -> None:
    """A chat ended: no relay should (re)connect to it."""
    redis.zrem(contract.ACTIVE_CHATS, chat_id)
