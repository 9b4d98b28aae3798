"""The simulated EVI's memory: chats, their history and sockets, and what the control plane received.

Thread-safe (one lock guards every change, and nothing awaits while holding it) and asyncio-friendly:
sockets and long-polls wait on asyncio primitives of their own event loop and are woken thread-safely,
so a test can drive the state from its own thread while uvicorn serves it from another.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any

from evi_toolhost.simulator import events
from evi_toolhost.simulator.catalog import Catalog
from evi_toolhost.simulator.chats import (
    ANSWER_TYPES,
    Chat,
    Client,
    ReceivedMessage,
    Subscription,
    Transport,
    Waiter,
    call_in_loop,
)
from evi_toolhost.simulator.emotions import emotion_features
from evi_toolhost.simulator.errors import ApiError
from evi_toolhost.simulator.events import ChatEvent, HistoryEntry
from evi_toolhost.simulator.voices import VoiceLibrary
from service.evi.messages import PublishMessage, SessionSettings, ToolCallMessage, ToolType
from service.evi.webhooks import ChatStartType, ChatStatus

__all__ = ["Chat", "ReceivedMessage", "SimulatorState", "Subscription"]


class SimulatorState:
    """Everything the simulator knows; every method may be called from any thread."""

    def __init__(self) -> None:
        self.chats: dict[str, Chat] = {}
        self.prompts = Catalog("prompt")
        self.tools = Catalog("tool")
        self.configs = Catalog("config")
        self.voices = VoiceLibrary()
        self.user_id = str(uuid.uuid4())
        """The simulated account, as Hume names it in audio reconstructions."""
        self.http_send_attempts: Counter[str] = Counter()
        """HTTP sends per chat id, failed (injected) ones included."""
        self._failures: dict[str, deque[int]] = {}
        self._failing_until: dict[str, tuple[float, int]] = {}
        self.retry_after: dict[str, str] = {}
        """A `Retry-After` value sent with every injected failure for the chat."""
        self._answers: dict[str, list[ReceivedMessage]] = {}
        self._waiters: dict[str, list[Waiter]] = {}
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._http_clients: set[Client] = set()
        self._socket_clients: set[Client] = set()
        self._send_clients: dict[str, set[Client]] = {}
        self._sequence = itertools.count()
        self._lock = threading.RLock()

    # -- chats ---------------------------------------------------------------------------------

    def start_chat(
        self,
        *,
        chat_id: str | None = None,
        chat_group_id: str | None = None,
        config_id: str | None = None,
        custom_session_id: str | None = None,
        caller_number: str | None = None,
        allow_connection: bool = True,
    ) -> Chat:
        """A new active chat; a `chat_group_id` already in use makes it a resumed chat of that group."""
        with self._lock:
            chat_id = chat_id or str(uuid.uuid4())
            if chat_id in self.chats:
                raise ApiError(409, f"chat {chat_id} already exists")
            config = self.configs.find(config_id) if config_id else None
            resumed = chat_group_id is not None and any(c.chat_group_id == chat_group_id for c in self.chats.values())
            chat = Chat(
                id=chat_id,
                chat_group_id=chat_group_id or str(uuid.uuid4()),
                chat_start_type=ChatStartType.RESUMED_CHAT_GROUP if resumed else ChatStartType.NEW_CHAT_GROUP,
                config_id=config_id,
                custom_session_id=custom_session_id,
                caller_number=caller_number,
                allow_connection=allow_connection,
                start_time=time.time(),
                config_version=config.version if config else None,
            )
            self.chats[chat_id] = chat
            return chat

    def get_chat(self, chat_id: str) -> Chat:
        chat = self.chats.get(chat_id)
        if chat is None:
            raise ApiError(404, f"chat {chat_id} not found")
        return chat

    def active_chat(self, chat_id: str, ended_status: int = 404) -> Chat:
        chat = self.get_chat(chat_id)
        if not chat.active:
            raise ApiError(ended_status, f"chat {chat_id} has ended ({chat.status.value})")
        return chat

    def end_chat(self, chat_id: str, status: ChatStatus = ChatStatus.USER_ENDED) -> Chat:
        """End the chat: later sends get 404, and its sockets are closed (code 1000)."""
        if status is ChatStatus.ACTIVE:
            raise ApiError(400, "a chat cannot end with status ACTIVE")
        with self._lock:
            chat = self.active_chat(chat_id, ended_status=409)
            chat.status = status
            chat.end_time = time.time()
            for subscription in self._subscriptions.pop(chat_id, []):
                subscription.push(None)
            return chat

    def all_chats(self) -> list[Chat]:
        """Every chat, in the order they started."""
        with self._lock:
            return list(self.chats.values())

    def group_chats(self, chat_group_id: str) -> list[Chat]:
        with self._lock:
            return [chat for chat in self.chats.values() if chat.chat_group_id == chat_group_id]

    # -- what EVI says (driven by the admin API or a test) -------------------------------------

    def add_user_message(
        self, chat_id: str, text: str, *, from_text: bool = False, emotions: Mapping[str, float] | None = None
    ) -> ChatEvent:
        """The user said `text`; spoken (not `from_text`), it carries prosody scores: `emotions`, else made up."""
        with self._lock:
            chat = self.active_chat(chat_id, ended_status=409)
            elapsed = chat.elapsed_ms()
            said = events.user_message(
                text, from_text=from_text, begin_ms=elapsed, end_ms=elapsed, custom_session_id=chat.custom_session_id
            )
            features = None if from_text else emotion_features(text, emotions)
            entry = HistoryEntry(events.EventType.USER_MESSAGE, events.Role.USER, text, features)
            event = self._record(chat, entry)
            self._broadcast(chat, [said])
            return event

    def add_assistant_message(
        self, chat_id: str, text: str, *, from_text: bool = False, emotions: Mapping[str, float] | None = None
    ) -> ChatEvent:
        with self._lock:
            chat = self.active_chat(chat_id, ended_status=409)
            said = events.assistant_message(text, from_text=from_text, custom_session_id=chat.custom_session_id)
            features = None if from_text else emotion_features(text, emotions)
            entry = HistoryEntry(events.EventType.AGENT_MESSAGE, events.Role.AGENT, text, features)
            event = self._record(chat, entry)
            self._broadcast(chat, [said])
            return event

    def add_assistant_end(self, chat_id: str) -> None:
        with self._lock:
            chat = self.active_chat(chat_id, ended_status=409)
            self._broadcast(chat, [events.assistant_end(chat.custom_session_id)])

    def add_user_interruption(self, chat_id: str) -> ChatEvent:
        """The user spoke over EVI (over what it said, or its silence while a tool runs)."""
        with self._lock:
            chat = self.active_chat(chat_id, ended_status=409)
            event = self._record(chat, HistoryEntry(events.EventType.USER_INTERRUPTION, events.Role.USER))
            self._broadcast(chat, [events.user_interruption(event.timestamp, chat.custom_session_id)])
            return event

    def add_tool_call(
        self,
        chat_id: str,
        *,
        name: str,
        parameters: str,
        tool_call_id: str | None = None,
        tool_type: ToolType = ToolType.FUNCTION,
        response_required: bool | None = None,
        broadcast: bool = True,
    ) -> ToolCallMessage:
        """Record a tool call (FUNCTION_CALL) and, if `broadcast`, send it on the chat's sockets.

        `response_required` defaults to True for function tools; built-in ones never require a response.
        """
        if tool_type is ToolType.BUILTIN and response_required:
            raise ApiError(400, "a builtin tool call never has response_required: true")
        with self._lock:
            chat = self.active_chat(chat_id, ended_status=409)
            message = ToolCallMessage(
                name=name,
                parameters=parameters,
                tool_call_id=tool_call_id or f"toolu_{uuid.uuid4().hex[:24]}",
                tool_type=tool_type,
                response_required=tool_type is ToolType.FUNCTION if response_required is None else response_required,
                custom_session_id=chat.custom_session_id,
            )
            self._record(chat, events.tool_call_entry(message))
            if broadcast:
                self._broadcast(chat, [events.tool_call(message)])
            return message

    def _record(self, chat: Chat, entry: HistoryEntry) -> ChatEvent:
        event = ChatEvent(
            id=str(uuid.uuid4()),
            chat_id=chat.id,
            sequence=next(self._sequence),
            timestamp=int(time.time() * 1000),
            type=entry.type,
            role=entry.role,
            message_text=entry.message_text,
            emotion_features=entry.emotion_features,
        )
        chat.events.append(event)
        return event

    def _broadcast(self, chat: Chat, messages: list[dict[str, Any]]) -> None:
        chat.stream.extend(messages)
        for subscription in self._subscriptions.get(chat.id, []):
            for message in messages:
                subscription.push(message)

    # -- what the control plane receives ---------------------------------------------------------

    def receive(
        self, chat_id: str, message: PublishMessage, raw: dict[str, Any], transport: Transport
    ) -> ReceivedMessage:
        """Accept a validated publish message (`raw` as sent): record, add to history, tell the sockets."""
        with self._lock:
            chat = self.active_chat(chat_id)
            received = ReceivedMessage(chat_id, raw, transport, time.time(), time.monotonic())
            chat.received.append(received)
            if isinstance(message, SessionSettings):
                chat.apply_settings(message)
            entry, messages = events.effects_of_publish(
                message, elapsed_ms=chat.elapsed_ms(), custom_session_id=chat.custom_session_id
            )
            self._record(chat, entry)
            self._broadcast(chat, messages)
            if raw.get("type") in ANSWER_TYPES:
                tool_call_id = str(raw.get("tool_call_id"))
                self._answers.setdefault(tool_call_id, []).append(received)
                for waiter in self._waiters.pop(tool_call_id, []):
                    call_in_loop(waiter.loop, waiter.event.set)
            for waiter in self._waiters.pop(_chat_key(chat_id), []):
                call_in_loop(waiter.loop, waiter.event.set)
            return received

    def answers_for(self, tool_call_id: str) -> list[ReceivedMessage]:
        """Every tool_response / tool_error received for this call, across chats, in arrival order."""
        with self._lock:
            return list(self._answers.get(tool_call_id, []))

    async def wait_for_answers(self, tool_call_id: str, timeout: float) -> list[ReceivedMessage]:
        """`answers_for(tool_call_id)` once there is at least one, or whatever there is after `timeout` s."""
        await self._wait(tool_call_id, lambda: bool(self.answers_for(tool_call_id)), timeout)
        return self.answers_for(tool_call_id)

    async def wait_for_received(self, chat_id: str, more_than: int, timeout: float) -> list[ReceivedMessage]:
        """Every message the chat received, once there are more than `more_than`, or whatever there is after
        `timeout` s."""
        await self._wait(_chat_key(chat_id), lambda: len(self.get_chat(chat_id).received) > more_than, timeout)
        with self._lock:
            return list(self.get_chat(chat_id).received)

    async def _wait(self, key: str, ready: Callable[[], bool], timeout: float) -> None:
        """Return once `ready()` (checked now, then each time `key` is notified), or after `timeout` s."""
        with self._lock:
            if ready() or timeout <= 0:
                return
            waiter = Waiter(asyncio.get_running_loop(), asyncio.Event())
            self._waiters.setdefault(key, []).append(waiter)
        try:
            await asyncio.wait_for(waiter.event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                pending = self._waiters.get(key, [])
                if waiter in pending:
                    pending.remove(waiter)

    def waiting_for(self, tool_call_id: str) -> int:
        """How many long-polls are waiting for an answer to this call right now."""
        with self._lock:
            return len(self._waiters.get(tool_call_id, []))

    # -- sockets ---------------------------------------------------------------------------------

    def subscribe(self, chat_id: str) -> Subscription:
        """Open a socket on the chat (from inside its event loop): queued first are `chat_metadata`
        and the chat so far, then live messages follow. ApiError if the chat cannot be joined."""
        with self._lock:
            chat = self.active_chat(chat_id)
            if not chat.allow_connection:
                raise ApiError(403, f"chat {chat_id} was not started with allow_connection=true")
            subscription = Subscription(chat_id, asyncio.get_running_loop())
            subscription.push(events.chat_metadata(chat.id, chat.chat_group_id, chat.custom_session_id))
            for message in chat.stream:
                subscription.push(message)
            self._subscriptions.setdefault(chat_id, []).append(subscription)
            return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            open_ones = self._subscriptions.get(subscription.chat_id, [])
            if subscription in open_ones:
                open_ones.remove(subscription)

    def open_sockets(self, chat_id: str) -> int:
        with self._lock:
            return len(self._subscriptions.get(chat_id, []))

    # -- fault injection and connection accounting -------------------------------------------------

    def fail_next_sends(self, chat_id: str, statuses: list[int]) -> None:
        """The next len(statuses) HTTP sends to `chat_id` answer these codes, unrecorded; then normal again."""
        if any(not 100 <= status <= 599 for status in statuses):
            raise ApiError(400, f"statuses must be HTTP status codes (100-599), got {statuses}")
        with self._lock:
            self._failures.setdefault(chat_id, deque()).extend(statuses)

    def fail_sends_for(self, chat_id: str, status: int, seconds: float) -> None:
        """Every HTTP send to `chat_id` answers `status` for the next `seconds`, unrecorded; then normal again."""
        if not 100 <= status <= 599:
            raise ApiError(400, f"status must be an HTTP status code (100-599), got {status}")
        with self._lock:
            self._failing_until[chat_id] = (time.monotonic() + seconds, status)

    def begin_http_send(self, chat_id: str) -> int | None:
        """Count an HTTP send attempt; the injected status it must fail with, if any."""
        with self._lock:
            self.http_send_attempts[chat_id] += 1
            queued = self._failures.get(chat_id)
            if queued:
                return queued.popleft()
            until, status = self._failing_until.get(chat_id, (0.0, 0))
            return status if time.monotonic() < until else None

    def note_client(self, kind: str, client: Client | None, chat_id: str | None = None) -> None:
        """Remember the (host, port) a request came from; each TCP connection has its own port."""
        if client is None:
            return
        with self._lock:
            (self._socket_clients if kind == "websocket" else self._http_clients).add(client)
            if chat_id is not None:
                self._send_clients.setdefault(chat_id, set()).add(client)

    def distinct_http_clients(self, chat_id: str | None = None) -> int:
        """Distinct TCP connections that made HTTP requests (to `chat_id`'s send route, if given)."""
        with self._lock:
            if chat_id is None:
                return len(self._http_clients)
            return len(self._send_clients.get(chat_id, set()))

    @property
    def connections_opened(self) -> int:
        """Distinct TCP connections seen, HTTP and WebSocket."""
        with self._lock:
            return len(self._http_clients | self._socket_clients)

    def received_json(self, chat_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [received.to_json() for received in self.get_chat(chat_id).received]

    def describe(self, chat_id: str) -> dict[str, Any]:
        """The chat record plus the simulator's counters for it (admin API)."""
        with self._lock:
            chat = self.get_chat(chat_id)
            return {
                **chat.to_json(),
                "open_sockets": self.open_sockets(chat_id),
                "http_send_attempts": self.http_send_attempts[chat_id],
                "distinct_http_clients": self.distinct_http_clients(chat_id),
                "received_count": len(chat.received),
            }


def _chat_key(chat_id: str) -> str:
    """Waiters for any message to a chat share the waiter table with those for one call's answer."""
    return f"chat:{chat_id}"
