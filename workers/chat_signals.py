"""Chat signals between processes: a chat ended, the caller interrupted.

Who learns of it is rarely who runs the chat's calls: `chat_ended` is a job on any worker, a `user_interruption`
or a socket closed with its chat is seen by the relay holding the socket. So the signal goes out on one Redis
pub/sub channel (`contract.CHAT_SIGNALS`) that every worker process listens to (one subscription a process, on
its runtime's loop), and each applies it to the calls it runs (`Runtime.running_calls`). A call
costs nothing for this until a signal comes: no key to write, no channel to join per call. A signal is also
applied in the process that publishes it at once (the chat_ended job's own worker, the test kit).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, Literal

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from service.evi.timestamps import now_ms
from service.queue import contract
from workers.cancellation import RunningCalls

log = logging.getLogger("evi_toolhost.chat_signals")

Signal = Literal["ended", "socket_closed", "interrupted"]
"""`ended`: Hume said so (chat_ended); `socket_closed`: EVI closed the chat's socket normally, which it does when
the chat ends (the running calls are ended; a call that starts later is not, in case the chat lives on)."""
RESUBSCRIBE_SECONDS = 0.5


def encode(chat_id: str, signal: Signal, at_ms: int | None = None) -> str:
    return json.dumps({"chat_id": chat_id, "signal": signal, "at_ms": at_ms if at_ms is not None else now_ms()})


def apply(calls: RunningCalls, raw: str | bytes) -> int:
    """Apply one published signal to these calls; how many were stopped (0 for a malformed one)."""
    try:
        message: dict[str, Any] = json.loads(raw)
        chat_id, signal, at_ms = str(message["chat_id"]), message["signal"], int(message["at_ms"])
    except (ValueError, KeyError, TypeError):
        log.warning("chat signal ignored: not one this service publishes")
        return 0
    if signal in ("ended", "socket_closed"):
        stopped = calls.chat_ended(chat_id, remember=signal == "ended")
    elif signal == "interrupted":
        stopped = calls.interrupted(chat_id, at_ms)
    else:
        return 0
    if stopped:
        log.info("chat %s %s: %d running call(s) stopped", chat_id, signal, stopped)
    return stopped


def interruption_ms(value: object) -> int:
    """When a `user_interruption` happened, as Unix ms. Hume documents `time` as a Unix timestamp without a unit
    (its other timestamps are ms): ms, or seconds (counted to the end of that second), or else now."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value >= 10**11:
            return int(value)
        if value >= 10**9:
            return int(value) * 1000 + 999
    return now_ms()


def publish(redis: Redis, calls: RunningCalls, chat_id: str, signal: Signal, at_ms: int | None = None) -> None:
    """Tell every worker process, and `calls` (this process's) at once."""
    message = encode(chat_id, signal, at_ms)
    apply(calls, message)
    redis.publish(contract.CHAT_SIGNALS, message)


async def publish_async(redis: AsyncRedis, chat_id: str, signal: Signal, at_ms: int | None = None) -> None:
    await redis.publish(contract.CHAT_SIGNALS, encode(chat_id, signal, at_ms))


async def listen(
    redis: AsyncRedis, calls: RunningCalls, stop: asyncio.Event, *, on_subscribed: Callable[[], object] | None = None
) -> None:
    """Apply every signal published to `calls` until `stop`; subscribe again when Redis comes back (`on_subscribed`
    is called each time the subscription is made)."""
    while not stop.is_set():
        try:
            async with redis.pubsub() as pubsub:
                await pubsub.subscribe(contract.CHAT_SIGNALS)
                if on_subscribed is not None:
                    on_subscribed()
                while not stop.is_set():
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=RESUBSCRIBE_SECONDS)
                    if message is not None and message.get("type") == "message":
                        apply(calls, message["data"])
        except RedisError as exc:
            log.warning("chat signals: Redis unavailable (%s); subscribing again", type(exc).__name__)
            await asyncio.sleep(RESUBSCRIBE_SECONDS)
