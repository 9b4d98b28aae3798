"""The control plane a worker sends through: one more implementation of `service.evi.control_plane.ControlPlane`,
chosen per chat. A chat whose socket the relay holds open gets the message on that socket; any other chat
(no relay, socket refused or reconnecting) gets it by HTTP send at once.

Each answer goes out once: whichever path sends it takes its claim in Redis first (`contract.answered`),
so the job, the guard and the relay share one claim per tool call. A message sent through the relay gets a
claim of its own, so the worker's HTTP fallback cannot send it a second time; a message only HTTP can send
needs no claim.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal

from redis.asyncio import Redis

from service.evi.control_plane import ControlPlane, attempts_made
from service.evi.messages import PublishMessage, ToolErrorMessage, ToolResponseMessage, dump_message
from service.queue import contract
from service.queue.batching import BatchedScript
from service.redis_client import text
from workers.delivery.relay_socket import RelaySocket
from workers.redis_retry import patient_until, retry_redis_async
from workers.relay.inbox import SocketReply

ROUTE = """
-- Where an answer goes, and its claim for HTTP when no relay holds the chat's socket, in one round trip.
-- KEYS: 1 the chat's socket state, 2 the answer's claim; ARGV: 1 our claim token, 2 claim ttl (s),
--       3 '1' when relays may hold sockets
if ARGV[3] == '1' then
    local state = redis.call('HMGET', KEYS[1], 'state', 'relay')
    if state[1] == 'open' and state[2] then
        return {'relay', state[2]}
    end
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2]) then
    return {'http', ARGV[1]}
end
return {'http', redis.call('GET', KEYS[2]) or ''}
"""
ROUTE_TIMEOUT_SECONDS = 2.0
"""One routing exchange with Redis; a failed one is retried until the message's deadline."""

Transport = Literal["http", "socket"]
DEFAULT_BUDGET_SECONDS = 10.0
"""How long a message with no deadline of its own may take to go out."""


@dataclass(frozen=True)
class Sent:
    transport: Transport | None
    """None when another sender had already claimed this message: nothing was sent from here."""
    relay_wait_ms: int = 0
    attempts: int = 1
    """How many sends it took (HTTP retries included)."""


def answer_claim(message: PublishMessage) -> str | None:
    """The claim every sender of this tool call's answer shares; None for a message that is not an answer."""
    if isinstance(message, ToolResponseMessage | ToolErrorMessage):
        return contract.answered(message.tool_call_id)
    return None


class Delivery:
    def __init__(
        self, http: ControlPlane, redis: Redis, *, claim_ttl_seconds: int, relay: RelaySocket | None = None
    ) -> None:
        self.http = http
        self.redis = redis
        self.claim_ttl_seconds = claim_ttl_seconds
        self.relay = relay
        self._route = BatchedScript(redis, ROUTE, timeout_seconds=ROUTE_TIMEOUT_SECONDS)

    async def send(self, chat_id: str, message: PublishMessage, *, deadline: float | None = None) -> Sent:
        """Send `message` to the chat once; `Undeliverable` if HTTP send refuses it or runs out of time.

        Redis errors are retried until `deadline` (a message whose claim cannot be taken is not sent)."""
        until = deadline if deadline is not None else time.time() + DEFAULT_BUDGET_SECONDS
        claim = answer_claim(message)
        if claim is None:
            return await self._message(chat_id, message, until)
        # An answer: routed and, for HTTP, claimed in one round trip (auto-pipelined with other calls' answers).
        token = contract.claimed_by_http(uuid.uuid4().hex)
        keys = [contract.socket_state(chat_id), claim]
        args = [token, self.claim_ttl_seconds, int(self.relay is not None)]
        route, found = await retry_redis_async(lambda: self._route(keys, args), until=patient_until(until))
        if route == b"relay":
            return await self._by_relay(text(found) or "", chat_id, message, claim, until)
        holder = text(found)
        if holder != token:
            return Sent("socket" if contract.is_socket_claim(holder) else None)
        receipt = await self.http.send(chat_id, message, deadline=until)
        return Sent("http", attempts=attempts_made(receipt))

    async def _message(self, chat_id: str, message: PublishMessage, until: float) -> Sent:
        """A message that is not an answer (said while a tool runs): by the chat's socket if a relay holds it."""
        relay = self.relay
        relay_id = None
        if relay is not None:
            relay_id = await retry_redis_async(lambda: relay.holder(chat_id), until=patient_until(until))
        if relay_id is None:
            await self.http.send(chat_id, message, deadline=until)
            return Sent("http")
        return await self._by_relay(relay_id, chat_id, message, contract.sent_claim(uuid.uuid4().hex), until)

    async def _by_relay(self, relay_id: str, chat_id: str, message: PublishMessage, claim: str, until: float) -> Sent:
        assert self.relay is not None
        reply, waited_ms = await self.relay.send(relay_id, chat_id, dump_message(message), claim)
        if reply is SocketReply.SENT:
            return Sent("socket", waited_ms)
        if reply is SocketReply.CLAIMED:
            return Sent(None, waited_ms)
        return await self._by_http(chat_id, message, claim, until, waited_ms)

    async def _by_http(self, chat_id: str, message: PublishMessage, claim: str, until: float, waited_ms: int) -> Sent:
        # A token of our own, so that a claim whose reply was lost (Redis going down) is recognised as ours.
        token = contract.claimed_by_http(uuid.uuid4().hex)

        async def take() -> str | None:
            if await self.redis.set(claim, token, nx=True, ex=self.claim_ttl_seconds):
                return token
            return text(await self.redis.get(claim))

        holder = await retry_redis_async(take, until=patient_until(until))
        if holder != token:
            return Sent("socket" if contract.is_socket_claim(holder) else None, waited_ms)
        receipt = await self.http.send(chat_id, message, deadline=until)
        return Sent("http", waited_ms, attempts_made(receipt))
