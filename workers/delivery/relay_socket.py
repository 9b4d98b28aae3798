"""The chat's live control-plane socket, as a worker reaches it: through the relay that holds it.

The worker pushes a send request on that relay's inbox and waits a short bound for its reply
(`workers.relay.inbox`). The relay sends only if it takes the message's claim first, so a worker that gave
up waiting can take the same claim and fall back to HTTP without the message ever going out twice.
"""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis

from service.queue import contract
from service.redis_client import text
from workers.relay.inbox import SocketReply, ask_relay, new_request, wait_reply

LATE_RELAY_WAIT_SECONDS = 2.0
"""How long to hear from a relay that took the claim just after the worker stopped waiting."""


class RelaySocket:
    def __init__(self, redis: Redis, *, confirm_timeout_ms: int, claim_ttl_seconds: int) -> None:
        self.redis = redis
        self.confirm_timeout_ms = confirm_timeout_ms
        self.claim_ttl_seconds = claim_ttl_seconds

    async def holder(self, chat_id: str) -> str | None:
        """The relay holding an open socket for this chat, if one does."""
        state, relay_id = await self.redis.hmget(contract.socket_state(chat_id), ["state", "relay"])
        return text(relay_id) if text(state) == "open" and relay_id else None

    async def send(
        self, relay_id: str, chat_id: str, message: dict[str, Any], claim_key: str
    ) -> tuple[SocketReply | None, int]:
        """Ask the relay to send `message` under `claim_key`: its reply (None: none in time) and the ms waited."""
        started = time.perf_counter()
        request = new_request(chat_id, message, claim_key, self.claim_ttl_seconds, self.confirm_timeout_ms)
        reply = await ask_relay(self.redis, relay_id, request, self.confirm_timeout_ms / 1000)
        if reply is None and text(await self.redis.get(claim_key)) == request.claim_value():
            reply = await wait_reply(self.redis, request.request_id, LATE_RELAY_WAIT_SECONDS)
        return reply, round((time.perf_counter() - started) * 1000)
