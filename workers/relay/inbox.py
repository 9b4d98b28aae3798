"""Send requests from workers to the relay that holds a chat's socket, and the relay's one reply.

A worker pushes a request on the owning relay's inbox list and waits (BLPOP) a short bound for
the reply. Every request names a claim key: the relay sends only if it takes that claim first
(SET NX), and a worker that gave up waiting takes the same claim before falling back to HTTP, so a
message goes out once, by whichever path got there first.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis

from service.queue import contract
from service.redis_client import text

ACK_TTL_SECONDS = 30


class SocketReply(StrEnum):
    SENT = "sent"
    CLAIMED = "claimed"
    """Someone else (a worker's HTTP fallback) took the claim first; nothing was sent."""
    NO_SOCKET = "no_socket"
    EXPIRED = "expired"


@dataclass(frozen=True)
class SendRequest:
    request_id: str
    chat_id: str
    message: dict[str, Any]
    claim_key: str
    claim_ttl_seconds: int
    expires_at_ms: int

    def claim_value(self) -> str:
        return contract.claimed_by_socket(self.request_id)


def new_request(
    chat_id: str, message: dict[str, Any], claim_key: str, claim_ttl_seconds: int, expires_in_ms: int
) -> SendRequest:
    return SendRequest(
        request_id=uuid.uuid4().hex,
        chat_id=chat_id,
        message=message,
        claim_key=claim_key,
        claim_ttl_seconds=claim_ttl_seconds,
        expires_at_ms=int(time.time() * 1000) + expires_in_ms,
    )


async def ask_relay(redis: Redis, relay_id: str, request: SendRequest, wait_seconds: float) -> SocketReply | None:
    """Queue the request for the relay and wait up to `wait_seconds` for its reply (None: no reply).

    Push and wait go in one round trip: a pipeline whose second command blocks until the reply.
    """
    async with redis.pipeline(transaction=False) as pipe:
        pipe.lpush(contract.relay_inbox(relay_id), json.dumps(asdict(request)))
        pipe.blpop([contract.relay_ack(request.request_id)], timeout=wait_seconds)
        _, reply = await pipe.execute()
    return _reply(reply)


async def wait_reply(redis: Redis, request_id: str, wait_seconds: float) -> SocketReply | None:
    return _reply(await redis.blpop([contract.relay_ack(request_id)], timeout=wait_seconds))


def _reply(popped: Any) -> SocketReply | None:
    return None if popped is None else SocketReply(str(text(popped[1])))


Handler = Callable[[SendRequest], Awaitable[SocketReply]]


async def serve_one(redis: Redis, relay_id: str, handle: Handler, poll_seconds: float = 1.0) -> bool:
    """Take one request off the inbox (waiting up to `poll_seconds`), handle it and reply."""
    item = await redis.blpop([contract.relay_inbox(relay_id)], timeout=poll_seconds)
    if item is None:
        return False
    request = SendRequest(**json.loads(item[1]))
    if request.expires_at_ms < time.time() * 1000:
        reply = SocketReply.EXPIRED
    else:
        reply = await handle(request)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.lpush(contract.relay_ack(request.request_id), reply.value)
        pipe.expire(contract.relay_ack(request.request_id), ACK_TTL_SECONDS)
        await pipe.execute()
    return True
