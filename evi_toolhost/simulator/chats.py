"""A simulated chat and what flows through it: its record, the control-plane messages it received, and the
open sockets (subscriptions) that follow it. `SimulatorState` holds them and does every change under its lock.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from evi_toolhost.simulator.events import ChatEvent
from service.evi.messages import SessionSettings
from service.evi.webhooks import ChatStartType, ChatStatus

Transport = Literal["http", "socket"]
ANSWER_TYPES = frozenset({"tool_response", "tool_error"})
Client = tuple[str, int]


def call_in_loop(loop: asyncio.AbstractEventLoop, callback: Callable[..., object], *args: Any) -> None:
    """Run `callback` in `loop`: now if we are in it, else scheduled thread-safely."""
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        callback(*args)
    elif not loop.is_closed():
        loop.call_soon_threadsafe(callback, *args)


@dataclass(frozen=True)
class ReceivedMessage:
    """A control-plane message as the client sent it, with its arrival time (wall clock and monotonic)."""

    chat_id: str
    message: dict[str, Any]
    transport: Transport
    received_at: float
    received_monotonic: float

    def to_json(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "message": self.message,
            "transport": self.transport,
            "received_at": self.received_at,
            "received_monotonic": self.received_monotonic,
        }


@dataclass(eq=False)
class Subscription:
    """One open control-plane socket: its queue of messages to send; None means the chat ended."""

    chat_id: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)

    def push(self, item: dict[str, Any] | None) -> None:
        call_in_loop(self.loop, self.queue.put_nowait, item)


@dataclass(eq=False)
class Waiter:
    loop: asyncio.AbstractEventLoop
    event: asyncio.Event


@dataclass(eq=False)
class Chat:
    id: str
    chat_group_id: str
    chat_start_type: ChatStartType
    config_id: str | None
    custom_session_id: str | None
    caller_number: str | None
    allow_connection: bool
    start_time: float
    config_version: int | None = None
    status: ChatStatus = ChatStatus.ACTIVE
    end_time: float | None = None
    events: list[ChatEvent] = field(default_factory=list)
    stream: list[dict[str, Any]] = field(default_factory=list)
    """Socket messages so far, replayed to each socket that connects."""
    received: list[ReceivedMessage] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    """The session's variables, as `session_settings` messages set them."""
    context: dict[str, Any] | None = None
    """The session's injected context (`{text, type}`), as the last `session_settings` that had one set it."""

    @property
    def active(self) -> bool:
        return self.status is ChatStatus.ACTIVE

    @property
    def start_ms(self) -> int:
        return int(self.start_time * 1000)

    @property
    def end_ms(self) -> int | None:
        return None if self.end_time is None else int(self.end_time * 1000)

    def apply_settings(self, message: SessionSettings) -> None:
        """What EVI keeps of a `session_settings`: variables merge (values as text); a context replaces the one
        before, and an explicit null clears it."""
        for name, value in (message.variables or {}).items():
            self.variables[name] = value if isinstance(value, str) else json.dumps(value)
        if "context" in message.model_fields_set:
            self.context = message.context.model_dump(mode="json", exclude_none=True) if message.context else None

    def elapsed_ms(self) -> int:
        return int((time.time() - self.start_time) * 1000)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "chat_group_id": self.chat_group_id,
            "chat_start_type": self.chat_start_type.value,
            "config_id": self.config_id,
            "config_version": self.config_version,
            "custom_session_id": self.custom_session_id,
            "caller_number": self.caller_number,
            "allow_connection": self.allow_connection,
            "status": self.status.value,
            "start_timestamp": self.start_ms,
            "end_timestamp": self.end_ms,
            "event_count": len(self.events),
            "session": {"variables": dict(self.variables), "context": self.context},
        }
