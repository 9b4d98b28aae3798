"""Test your tools the way EVI calls them: the worker's own job code (claims, call record, deadline, execution,
delivery) runs on an in-memory Redis, with a control plane that records what the chat receives instead of
sending it. Nothing reaches Hume, no Redis server or worker is needed.

    async def test_forecast(evi) -> None:       # the `evi` fixture, from the plugin installed with the package
        result = await evi.call("get_forecast", city="Paris")
        assert result.answer.type == "tool_response"

`ToolKit` is that fixture; `call_tool` is the one-call shorthand. A test may set the chat's ids and caller
number, the transcript a handler reads with `ctx.transcript()`, and fire the lifecycle events at the hooks.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import fakeredis
import httpx

from service.evi.control_plane import RecordingControlPlane
from service.evi.messages import PublishMessage, ToolCallMessage, ToolErrorMessage, ToolResponseMessage, ToolType
from service.evi.timestamps import now_ms
from service.evi.webhooks import (
    ChatStartType,
    ChatStatus,
    WebhookEventChatEnded,
    WebhookEventChatStarted,
    WebhookEventToolCall,
)
from service.queue import contract
from service.settings import Settings
from workers import lifecycle, tool_calls
from workers.handlers.registry import Registry, default_registry
from workers.records import read_call, read_chat
from workers.runtime import Runtime
from workers.transcripts import TranscriptLine

KIT_API_BASE_URL = "http://hume.evi-toolhost-test-kit.invalid"
Answer = ToolResponseMessage | ToolErrorMessage
Line = TranscriptLine | tuple[Literal["user", "assistant"], str]


@dataclass(frozen=True)
class CallResult:
    """One tool call as EVI would have seen it."""

    tool_call_id: str
    answer: Answer | None
    """The `tool_response` or `tool_error` (None only for a call that needs no response)."""
    messages: list[PublishMessage]
    """Everything the chat received during the call, in order: the handler's own sends, then the answer."""
    record: dict[str, str]
    """The call record, as a worker writes it (`evi:call:{tool_call_id}`)."""

    @property
    def type(self) -> str | None:
        return self.answer.type if self.answer is not None else None

    @property
    def content(self) -> str | None:
        return self.answer.content if self.answer is not None else None

    @property
    def code(self) -> str | None:
        return self.answer.code if isinstance(self.answer, ToolErrorMessage) else None


class ToolKit:
    """A worker of one, in memory. Set `chat_id`, `chat_group_id`, `custom_session_id`, `caller_number` and
    `config_id` as the chat should have them; `sent` is everything the chat received so far."""

    def __init__(self, registry: Registry | None = None, *, control_plane: RecordingControlPlane | None = None) -> None:
        self.registry = registry if registry is not None else default_registry
        self.recorder = control_plane if control_plane is not None else RecordingControlPlane()
        self.chat_id = "test-chat"
        self.chat_group_id = "test-chat-group"
        self.custom_session_id: str | None = None
        self.caller_number: str | None = None
        self.config_id: str | None = None
        self._history: list[TranscriptLine] = []
        server = fakeredis.FakeServer()
        self.redis = fakeredis.FakeRedis(server=server)
        self._aredis = fakeredis.FakeAsyncRedis(server=server)
        self._runtimes: dict[str, Runtime] = {}
        self.settings = Settings(
            _env_file=None,
            hume_api_key="evi-toolhost-test-kit",
            hume_api_base_url=KIT_API_BASE_URL,
            redis_url="redis://redis.evi-toolhost-test-kit.invalid:6379/0",
            relay_enabled=False,
        )
        self.runtime = self._runtime(self.registry)

    @property
    def sent(self) -> list[PublishMessage]:
        return self.recorder.messages(self.chat_id)

    # --- tool calls ------------------------------------------------------------------------------------

    async def call(self, name: str, /, **arguments: Any) -> CallResult:
        """Call the tool `name` with these arguments, as EVI would."""
        return await asyncio.to_thread(self.call_with, name, arguments)

    def call_sync(self, name: str, /, **arguments: Any) -> CallResult:
        """`call` for plain (non-async) tests."""
        return self.call_with(name, arguments)

    def call_with(
        self,
        name: str,
        arguments: dict[str, Any] | str,
        *,
        tool_call_id: str | None = None,
        timeout: float | None = None,
        response_required: bool = True,
    ) -> CallResult:
        """The long form: arguments as a dict (or the raw JSON string EVI sends), and call options.

        `timeout` overrides the tool's own, for a test that needs a short one.
        """
        call_id = tool_call_id or f"toolu_test_{uuid.uuid4().hex[:16]}"
        registry = self.registry if timeout is None else self.registry.with_timeout(name, timeout)
        runtime = self._runtime(registry)
        first = len(self.recorder.sent)
        event = self._tool_call_event(name, arguments, call_id, response_required)
        tool_calls.run_tool_call(runtime, event, enqueued_at=time.time())
        messages = [item.message for item in self.recorder.sent[first:] if item.chat_id == self.chat_id]
        answers = [m for m in messages if isinstance(m, Answer) and m.tool_call_id == call_id]
        return CallResult(call_id, answers[0] if answers else None, messages, read_call(self.redis, call_id))

    def record(self, tool_call_id: str) -> dict[str, str]:
        return read_call(self.redis, tool_call_id)

    # --- the chat ---------------------------------------------------------------------------------------

    def set_transcript(self, lines: Iterable[Line]) -> None:
        """What was said so far: what `ctx.transcript()` returns, and the history a chat-ended hook gets."""
        self._history = [
            line if isinstance(line, TranscriptLine) else TranscriptLine(*line, now_ms()) for line in lines
        ]
        key = contract.conversation(self.chat_id)
        self.redis.delete(key)
        if self._history:
            self.redis.rpush(key, *(json.dumps(line.to_dict()) for line in self._history))

    def chat_started(self) -> dict[str, str]:
        """Fire `chat_started` at the hooks; returns the chat record. A failing hook raises `HookFailed`."""
        event = WebhookEventChatStarted(
            **self._ids(), chat_start_type=ChatStartType.NEW_CHAT_GROUP, start_time=now_ms()
        )
        lifecycle.chat_started(self.runtime, event)
        return read_chat(self.redis, self.chat_id)

    def chat_ended(self, transcript: Iterable[Line] | None = None) -> dict[str, str]:
        """Fire `chat_ended` at the hooks, with the transcript set so far (or `transcript`); returns the chat
        record. A failing hook raises `HookFailed`."""
        if transcript is not None:
            self.set_transcript(transcript)
        event = WebhookEventChatEnded(
            **self._ids(), duration_seconds=0, end_reason=ChatStatus.USER_ENDED, end_time=now_ms()
        )
        lifecycle.chat_ended(self.runtime, event)
        return read_chat(self.redis, self.chat_id)

    def close(self) -> None:
        for runtime in self._runtimes.values():
            runtime.close()
        self._runtimes.clear()

    def __enter__(self) -> ToolKit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -----------------------------------------------------------------------------------------

    def _runtime(self, registry: Registry) -> Runtime:
        runtime = self._runtimes.get(str(id(registry)))
        if runtime is None:
            runtime = Runtime(
                self.settings,
                self.redis,
                registry=registry,
                control_plane=self.recorder,
                http=httpx.AsyncClient(transport=httpx.MockTransport(self._hume)),
                aredis=self._aredis,
            )
            self._runtimes[str(id(registry))] = runtime
        return runtime

    def _ids(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "chat_group_id": self.chat_group_id,
            "custom_session_id": self.custom_session_id,
            "caller_number": self.caller_number,
            "config_id": self.config_id,
        }

    def _tool_call_event(
        self, name: str, arguments: dict[str, Any] | str, tool_call_id: str, response_required: bool
    ) -> dict[str, Any]:
        parameters = arguments if isinstance(arguments, str) else json.dumps(arguments)
        event = WebhookEventToolCall(
            **self._ids(),
            timestamp=now_ms(),
            tool_call_message=ToolCallMessage(
                name=name,
                parameters=parameters,
                response_required=response_required,
                tool_call_id=tool_call_id,
                tool_type=ToolType.FUNCTION if response_required else ToolType.BUILTIN,
                custom_session_id=self.custom_session_id,
            ),
        )
        return event.model_dump(mode="json")

    def _hume(self, request: httpx.Request) -> httpx.Response:
        """Hume's chat history API, serving the transcript set on the kit (what the chat-ended job fetches)."""
        if request.method != "GET" or not request.url.path.startswith("/v0/evi/chats/"):
            return httpx.Response(404, json={"detail": "the test kit serves only chat history"})
        kinds = {"user": "USER_MESSAGE", "assistant": "AGENT_MESSAGE"}
        events = [
            {"type": kinds[line.role], "message_text": line.text, "timestamp": line.timestamp_ms}
            for line in self._history
        ]
        return httpx.Response(200, json={"events_page": events, "total_pages": 1, "page_number": 0})


async def call_tool(
    name: str,
    arguments: dict[str, Any] | str,
    *,
    registry: Registry | None = None,
    control_plane: RecordingControlPlane | None = None,
    timeout: float | None = None,
    chat_id: str = "test-chat",
    chat_group_id: str = "test-chat-group",
    tool_call_id: str | None = None,
    custom_session_id: str | None = None,
    caller_number: str | None = None,
    config_id: str | None = None,
) -> Answer:
    """The answer the worker would send for this call (one `ToolKit` call). `arguments` may also be the raw
    JSON string; `timeout` overrides the tool's own; what the chat received goes to `control_plane`."""
    with ToolKit(registry, control_plane=control_plane) as kit:
        kit.chat_id, kit.chat_group_id = chat_id, chat_group_id
        kit.custom_session_id, kit.caller_number, kit.config_id = custom_session_id, caller_number, config_id
        result = await asyncio.to_thread(kit.call_with, name, arguments, tool_call_id=tool_call_id, timeout=timeout)
    assert result.answer is not None
    return result.answer
