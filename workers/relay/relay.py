"""The relay: finds active chats, leases them, holds one socket per leased chat, serves send requests.

Chats are shared between relay processes through leases (`leases.py`); each relay takes about its
fair share (active chats / live relays), renews its leases every third of the lease time, and a
chat whose owner died is taken over by another relay when the lease expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import uuid
from collections.abc import Awaitable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from service.evi.control_plane import ControlPlane
from service.evi.messages import ToolCallMessage
from service.evi.timestamps import now_ms
from service.evi.webhooks import WebhookEventToolCall
from service.queue import contract
from service.queue.enqueue import Enqueuer
from service.redis_client import text
from service.settings import Settings
from workers import chat_signals, conversation
from workers.delivery import Delivery, RelaySocket
from workers.redis_retry import retry_redis_async
from workers.relay import metrics
from workers.relay.chat_socket import ChatSocket, SocketState
from workers.relay.frame_logs import hide_tool_call_frames
from workers.relay.inbox import SendRequest, SocketReply, serve_one
from workers.relay.leases import Leases
from workers.watchdog import Watchdog

log = logging.getLogger("evi_toolhost.relay")

CLAIM_RETRY_SECONDS = 2.0
"""How long past a send request's own bound its claim is retried while Redis is away (the worker waits as long)."""


def new_relay_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Relay:
    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        *,
        control_plane: ControlPlane,
        relay_id: str | None = None,
        lease_ms: int = 3000,
        scan_interval: float = 0.5,
    ) -> None:
        """`control_plane` is how the watchdog's answers leave when the chat has no open socket (HTTP send)."""
        self.settings = settings
        self.redis = redis
        self.enqueuer = Enqueuer(
            redis,
            claim_ttl_seconds=settings.claim_ttl_seconds,
            record_ttl_seconds=settings.record_ttl_seconds,
            default_timeout_seconds=settings.tool_timeout_seconds,
        )
        self.relay_id = relay_id or new_relay_id()
        self.lease_ms = lease_ms
        self.scan_interval = scan_interval
        self.leases = Leases(redis, self.relay_id, lease_ms)
        self.sockets: dict[str, ChatSocket] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.metadata: dict[str, dict[str, Any]] = {}
        self._wake = asyncio.Event()
        self._chores: set[asyncio.Task[None]] = set()
        relay_socket = RelaySocket(
            redis, confirm_timeout_ms=settings.relay_confirm_timeout_ms, claim_ttl_seconds=settings.claim_ttl_seconds
        )
        self.watchdog = Watchdog(
            redis,
            Delivery(control_plane, redis, claim_ttl_seconds=settings.claim_ttl_seconds, relay=relay_socket),
            record_ttl_seconds=settings.record_ttl_seconds,
            delivery_grace_seconds=settings.delivery_grace_seconds,
        )

    def socket_url(self, chat_id: str) -> str:
        return f"{self.settings.ws_base_url}/v0/evi/chat/{chat_id}/connect"

    async def run(self, stop: asyncio.Event) -> None:
        hide_tool_call_frames()
        log.info("relay %s started", self.relay_id)
        loops = [
            asyncio.create_task(self._heartbeat_loop(), name="heartbeat"),
            asyncio.create_task(self._scan_loop(), name="scan"),
            asyncio.create_task(self._inbox_loop(), name="inbox"),
            asyncio.create_task(self._notify_loop(), name="notify"),
            asyncio.create_task(self.watchdog.run(stop), name="watchdog"),
        ]
        try:
            await stop.wait()
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await self.shutdown()

    async def shutdown(self) -> None:
        """Close every socket and hand the chats back, so another relay takes them at once."""
        chats = list(self.tasks)
        for chat_id in chats:
            self.tasks[chat_id].cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        with contextlib.suppress(RedisError):
            for chat_id in chats:
                await self.leases.release(chat_id)
            await self.redis.delete(contract.relay_alive(self.relay_id))
        log.info("relay %s stopped; released %d chats", self.relay_id, len(chats))

    async def _heartbeat_loop(self) -> None:
        while True:
            try:
                await self.redis.set(contract.relay_alive(self.relay_id), now_ms(), px=self.lease_ms)
                for chat_id in list(self.tasks):
                    if not await self.leases.renew(chat_id):
                        log.warning("relay %s lost the lease of chat %s", self.relay_id, chat_id)
                        self._drop(chat_id)
            except RedisError as exc:
                log.warning("relay heartbeat failed: %s", type(exc).__name__)
            await asyncio.sleep(self.lease_ms / 3000)

    async def _scan_loop(self) -> None:
        while True:
            try:
                await self.scan_once()
            except RedisError as exc:
                log.warning("relay scan failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.scan_interval)
            self._wake.clear()

    async def _notify_loop(self) -> None:
        while True:
            try:
                async with self.redis.pubsub() as pubsub:
                    await pubsub.subscribe(contract.NEW_CHAT_CHANNEL)
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._wake.set()
            except RedisError:
                await asyncio.sleep(1)

    async def _inbox_loop(self) -> None:
        while True:
            try:
                await serve_one(self.redis, self.relay_id, metrics.counted(self.handle_send))
            except RedisError as exc:
                log.warning("relay inbox failed: %s", type(exc).__name__)
                await asyncio.sleep(0.5)

    async def scan_once(self) -> None:
        active = {str(text(c)) for c in await self.redis.zrange(contract.ACTIVE_CHATS, 0, -1)}
        for chat_id in [c for c in self.tasks if c not in active]:
            self._drop(chat_id)
            await self.leases.release(chat_id)
        relays = max(1, len([k async for k in self.redis.scan_iter(match=contract.RELAY_ALIVE_PATTERN, count=1000)]))
        share = math.ceil(len(active) / relays)
        if len(self.tasks) > share + 1:
            surplus = next(iter(self.tasks))
            log.info("relay %s hands chat %s over (fair share %d)", self.relay_id, surplus, share)
            self._drop(surplus)
            await self.leases.release(surplus)
        for chat_id in sorted(active - set(self.tasks)):
            if len(self.tasks) >= share:
                break
            if await self.leases.acquire(chat_id):
                self._hold(chat_id)

    def _hold(self, chat_id: str) -> None:
        chat = ChatSocket(
            chat_id,
            self.socket_url(chat_id),
            self.settings.hume_api_key.get_secret_value(),
            on_message=self.on_message,
            on_state=self.on_state,
            still_wanted=lambda: self._still_wanted(chat_id),
        )
        self.sockets[chat_id] = chat
        self.tasks[chat_id] = asyncio.create_task(self._hold_until_done(chat), name=f"chat-{chat_id}")

    async def _hold_until_done(self, chat: ChatSocket) -> None:
        try:
            await chat.run()
            if chat.ended_by_evi:  # the chat ended: its calls stop now, before the chat_ended webhook arrives
                with contextlib.suppress(RedisError):
                    await chat_signals.publish_async(self.redis, chat.chat_id, "socket_closed")
        finally:
            self.sockets.pop(chat.chat_id, None)
            self.tasks.pop(chat.chat_id, None)
            self.metadata.pop(chat.chat_id, None)
        with contextlib.suppress(RedisError):
            await self.redis.zrem(contract.ACTIVE_CHATS, chat.chat_id)
            await self.leases.release(chat.chat_id)

    def _drop(self, chat_id: str) -> None:
        task = self.tasks.pop(chat_id, None)
        self.sockets.pop(chat_id, None)
        if task is not None:
            task.cancel()

    async def _still_wanted(self, chat_id: str) -> bool:
        held = await self.leases.owner(chat_id) == self.relay_id
        return held and await self.redis.zscore(contract.ACTIVE_CHATS, chat_id) is not None

    async def on_state(self, chat: ChatSocket, state: SocketState) -> None:
        metrics.socket_state(chat, state)
        if state is SocketState.OPEN:
            await conversation.reset(self.redis, chat.chat_id)
        key = contract.socket_state(chat.chat_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(
                key,
                mapping={"state": state.value, "relay": self.relay_id, "since_ms": now_ms(), "connects": chat.connects},
            )
            pipe.expire(key, self.settings.record_ttl_seconds)
            await pipe.execute()

    async def on_message(self, chat: ChatSocket, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "chat_metadata":
            self.metadata[chat.chat_id] = message
        elif kind == "tool_call":
            await self._queue_tool_call(chat.chat_id, message)
        elif kind == "user_interruption":
            at_ms = chat_signals.interruption_ms(message.get("time"))
            await chat_signals.publish_async(self.redis, chat.chat_id, "interrupted", at_ms)
        else:
            line = conversation.line_from_socket(message, now_ms())
            if line is not None:
                await conversation.append(self.redis, chat.chat_id, line, self.settings.record_ttl_seconds)

    async def _queue_tool_call(self, chat_id: str, message: dict[str, Any]) -> None:
        meta = self.metadata.get(chat_id, {})
        try:
            event = WebhookEventToolCall(
                chat_id=chat_id,
                chat_group_id=str(meta.get("chat_group_id") or ""),
                custom_session_id=meta.get("custom_session_id"),
                timestamp=now_ms(),
                tool_call_message=ToolCallMessage.model_validate(message),
            )
        except ValueError as exc:
            log.warning("chat %s: a tool_call on the socket was not valid: %s", chat_id, exc)
            return
        outcome = await self.enqueuer.enqueue(event)
        call_id = event.tool_call_message.tool_call_id
        log.info("chat %s: tool call %s seen on the socket: %s", chat_id, call_id, outcome.status)

    async def handle_send(self, request: SendRequest) -> SocketReply:
        chat = self.sockets.get(request.chat_id)
        if chat is None or not chat.is_open:
            return SocketReply.NO_SOCKET
        async def take() -> bool:
            ours = request.claim_value()
            if await self.redis.set(request.claim_key, ours, nx=True, ex=request.claim_ttl_seconds):
                return True
            return text(await self.redis.get(request.claim_key)) == ours  # taken just as Redis went away

        if not await retry_redis_async(take, until=request.expires_at_ms / 1000 + CLAIM_RETRY_SECONDS):
            return SocketReply.CLAIMED
        try:
            await chat.send(request.message)
        except ConnectionError:
            await self.redis.delete(request.claim_key)
            return SocketReply.NO_SOCKET
        self._background(self.redis.hincrby(contract.socket_state(request.chat_id), "sent", 1))
        return SocketReply.SENT

    def _background(self, work: Awaitable[object]) -> None:
        """Bookkeeping that must not delay a reply; failures are only logged."""

        async def run() -> None:
            try:
                await work
            except RedisError as exc:
                log.warning("relay bookkeeping failed: %s", type(exc).__name__)

        task = asyncio.create_task(run())
        self._chores.add(task)
        task.add_done_callback(self._chores.discard)
