"""Where a message for a chat goes: the relay's live socket when it holds one, else HTTP send.

A message goes out once, by whichever path claims it first (`SET NX` on its claim key): the relay
takes the claim just before it writes on the socket, and a worker that got no confirmation within
`RELAY_CONFIRM_TIMEOUT_MS` takes it before falling back to HTTP. Answers use the tool call's answer
key, so every path that could answer a call (job retries, the guard, the relay) shares one claim.
A chat whose socket is not open (no relay, refused, reconnecting) goes straight to HTTP, no waiting.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Literal

from service.evi.messages import PublishMessage, dump_message
from service.queue import contract
from service.redis_text import text
from workers.relay.inbox import SocketReply, ask_relay, new_request, wait_reply
from workers.runtime import Runtime, get_runtime

Transport = Literal["http", "socket"]
LATE_RELAY_WAIT_SECONDS = 2.0


@dataclass(frozen=True)
class Delivery:
    transport: Transport | None
    """None when another sender had already claimed this message: nothing was sent from here."""
    relay_wait_ms: int = 0


async def deliver(
    chat_id: str, message: PublishMessage, *, deadline: float | None = None, claim_key: str | None = None
) -> Delivery:
    """Send `message` to the chat once; raise `Undeliverable` if HTTP send refuses it."""
    runtime = get_runtime()
    relay_id = _socket_holder(runtime, chat_id)
    if relay_id is None and claim_key is None:
        # Only HTTP can send it and nothing else claims it: no claim to take.
        await runtime.control_plane.send(chat_id, message, deadline=deadline)
        return Delivery("http")
    claim = claim_key or contract.sent_claim(uuid.uuid4().hex)
    if relay_id is None:
        return await _send_by_http(runtime, chat_id, message, claim, deadline, waited_ms=0)
    started = time.perf_counter()
    bound_ms = runtime.settings.relay_confirm_timeout_ms
    request = new_request(chat_id, dump_message(message), claim, runtime.settings.claim_ttl_seconds, bound_ms)
    reply = await ask_relay(runtime.aredis, relay_id, request, bound_ms / 1000)
    waited_ms = round((time.perf_counter() - started) * 1000)
    if reply is None and _claimed_by_relay(runtime, claim, request.request_id):
        # The relay took the claim just after we stopped waiting: hear how its send went.
        reply = await wait_reply(runtime.aredis, request.request_id, LATE_RELAY_WAIT_SECONDS)
    if reply is SocketReply.SENT:
        return Delivery("socket", waited_ms)
    if reply is SocketReply.CLAIMED:
        return Delivery(None, waited_ms)
    return await _send_by_http(runtime, chat_id, message, claim, deadline, waited_ms)


def _socket_holder(runtime: Runtime, chat_id: str) -> str | None:
    """The relay holding an open socket for this chat, if the relay is on and one does."""
    if not runtime.settings.relay_enabled:
        return None
    state, relay_id = runtime.redis.hmget(contract.socket_state(chat_id), ["state", "relay"])
    return text(relay_id) if text(state) == "open" and relay_id else None


def _claimed_by_relay(runtime: Runtime, claim: str, request_id: str) -> bool:
    return text(runtime.redis.get(claim)) == f"socket:{request_id}"


async def _send_by_http(
    runtime: Runtime, chat_id: str, message: PublishMessage, claim: str, deadline: float | None, waited_ms: int
) -> Delivery:
    if not runtime.redis.set(claim, "http", nx=True, ex=runtime.settings.claim_ttl_seconds):
        holder = text(runtime.redis.get(claim)) or ""
        return Delivery("socket" if holder.startswith("socket:") else None, waited_ms)
    await runtime.control_plane.send(chat_id, message, deadline=deadline)
    return Delivery("http", waited_ms)
