"""What a handler gets besides its arguments: which chat and call this is, the deadline, `send()` and `say()`,
what was said in this chat (`transcript()`) and in the group's earlier chats (`history()`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from service.evi.messages import AssistantInput, PublishMessage, ToolErrorMessage, ToolResponseMessage
from workers.transcripts import TranscriptLine

Sender = Callable[[PublishMessage], Awaitable[None]]
TranscriptReader = Callable[[], Awaitable[list[TranscriptLine]]]

IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4d5b-9a77-3c2f1e0b9d41")
"""Fixed forever: `ToolContext.idempotency_key` is the UUID5 of the tool call id in it."""


def _check_publishable(message: PublishMessage) -> None:
    if isinstance(message, ToolResponseMessage | ToolErrorMessage):
        raise ValueError(
            "a handler must not send tool_response or tool_error itself: return the result or raise ToolError"
        )


@dataclass(frozen=True, kw_only=True)
class ChatContext:
    """The chat a lifecycle hook is about. `send()` works while the chat is active (chat_started hooks)."""

    chat_id: str
    chat_group_id: str
    custom_session_id: str | None = None
    caller_number: str | None = None
    config_id: str | None = None
    _sender: Sender | None = field(default=None, repr=False, compare=False)

    async def send(self, message: PublishMessage) -> None:
        """Publish a control-plane message (e.g. `SessionSettings`, `AssistantInput`) to the chat."""
        if self._sender is None:
            raise RuntimeError(f"chat {self.chat_id} has ended: nothing can be sent to it")
        _check_publishable(message)
        await self._sender(message)


@dataclass(frozen=True, kw_only=True)
class ToolContext:
    """Declare a parameter of this type in a tool to receive it; it is not part of the tool's schema."""

    chat_id: str
    chat_group_id: str
    tool_call_id: str
    tool_name: str
    deadline: float
    """Epoch seconds by which the answer is due; the handler is cancelled then."""
    custom_session_id: str | None = None
    caller_number: str | None = None
    config_id: str | None = None
    _sender: Sender = field(repr=False, compare=False)
    _transcript: TranscriptReader | None = field(default=None, repr=False, compare=False)
    _history: TranscriptReader | None = field(default=None, repr=False, compare=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False, compare=False)

    @property
    def idempotency_key(self) -> str:
        """A key for this tool call's side effects, to pass to downstream APIs (`Idempotency-Key`): the same for
        every delivery and run of one `tool_call_id`, different for every other call (a UUID5 of the id)."""
        return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, self.tool_call_id))

    def remaining(self) -> float:
        """Seconds left before the deadline (0 when it has passed)."""
        return max(0.0, self.deadline - time.time())

    async def send(self, message: PublishMessage) -> None:
        """Publish a control-plane message to the chat now, e.g. `AssistantInput(text="One moment...")`.

        The tool's own answer is not sent this way: return it (or raise `ToolError`).
        """
        _check_publishable(message)
        await self._sender(message)

    async def say(self, text: str) -> None:
        """Say `text` to the caller now (an `assistant_input`): `send(AssistantInput(text=text))`."""
        await self.send(AssistantInput(text=text, custom_session_id=self.custom_session_id))

    def say_sync(self, text: str) -> None:
        """`say()` for plain (non-async) tools."""
        self.send_sync(AssistantInput(text=text, custom_session_id=self.custom_session_id))

    def send_sync(self, message: PublishMessage) -> None:
        """`send()` for plain (non-async) tools, which run in a worker thread: blocks until sent."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("send_sync() is only available to tools running in a worker thread")
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("send_sync() would block the event loop: use `await ctx.send(...)` in async tools")
        asyncio.run_coroutine_threadsafe(self.send(message), loop).result(timeout=max(self.remaining(), 0.1))

    async def transcript(self) -> list[TranscriptLine]:
        """The conversation so far (user and assistant messages, oldest first), as the relay saw it on the
        chat's live socket; empty when no relay holds a socket for this chat."""
        if self._transcript is None:
            return []
        return await self._transcript()

    async def history(self) -> list[TranscriptLine]:
        """What was said in the earlier chats of this chat's group (a chat that resumed a group:
        `chat_start_type` `resumed_chat_group`), oldest first; empty for a chat that started a new group. Read
        from Hume's chat-group events once per chat, then from a cache."""
        if self._history is None:
            return []
        return await self._history()
