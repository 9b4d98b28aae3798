"""Test your tools the way EVI calls them: the worker's own job code (claims, call record, deadline, execution,
delivery) runs on an in-memory Redis, with a control plane that records what the chat receives instead of
sending it. Nothing reaches Hume, no Redis server or worker is needed.

    async def test_forecast(evi) -> None:       # the `evi` fixture, from the plugin installed with the package
        result = await evi.call("get_forecast", city="Paris")
        assert result.answer.type == "tool_response"

`ToolKit` is that fixture; `call_tool` is the one-call shorthand. A test may set the chat's ids and caller
number, the transcript a handler reads with `ctx.transcript()` and the earlier chats `ctx.history()` reads, fire
the lifecycle events at the hooks, interrupt or end the chat while a call runs, wait for a background tool's
result, and see what the chat received and when (`CallResult.timeline`, `said`).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import fakeredis
import httpx

from service.evi.control_plane import RecordingControlPlane, SentMessage
from service.evi.messages import (
    AssistantInput,
    PublishMessage,
    ToolCallMessage,
    ToolErrorMessage,
    ToolResponseMessage,
    ToolType,
)
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
from workers.background import wait_for_run, wait_for_runs
from workers.handlers.registry import Registry, default_registry
from workers.records import read_call, read_chat
from workers.runtime import Runtime
from workers.transcripts import TranscriptLine

KIT_API_BASE_URL = "http://hume.evi-toolhost-test-kit.invalid"
CLOSE_WAIT_SECONDS = 5.0
"""How long closing the kit waits for background runs still running (they need its runtime to tell)."""
Answer = ToolResponseMessage | ToolErrorMessage
Line = TranscriptLine | tuple[Literal["user", "assistant"], str]


@dataclass(frozen=True)
class Delivered:
    """A message the chat received, `at` seconds after EVI made the call."""

    at: float
    message: PublishMessage


def _said(timeline: list[Delivered]) -> list[str]:
    return [item.message.text for item in timeline if isinstance(item.message, AssistantInput)]


@dataclass(frozen=True)
class CallResult:
    """One tool call as EVI would have seen it."""

    tool_call_id: str
    answer: Answer | None
    """The `tool_response` or `tool_error` (None only for a call that needs no response)."""
    messages: list[PublishMessage]
    """Everything the chat received during the call, in order: what was said and set while it ran, then the
    answer."""
    record: dict[str, str]
    """The call record, as a worker writes it (`evi:call:{tool_call_id}`)."""
    timeline: list[Delivered] = field(default_factory=list)
    """`messages` with when each arrived."""
    started_at: float = 0.0
    """When EVI made the call (epoch seconds)."""

    @property
    def said(self) -> list[str]:
        """The texts said to the caller during the call (`assistant_input`), in order."""
        return _said(self.timeline)

    @property
    def type(self) -> str | None:
        return self.answer.type if self.answer is not None else None

    @property
    def content(self) -> str | None:
        return self.answer.content if self.answer is not None else None

    @property
    def code(self) -> str | None:
        return self.answer.code if isinstance(self.answer, ToolErrorMessage) else None


@dataclass(frozen=True)
class BackgroundResult:
    """What a background tool's run told the chat after its ack, and the call record once it was told."""

    timeline: list[Delivered]
    record: dict[str, str]

    @property
    def messages(self) -> list[PublishMessage]:
        return [item.message for item in self.timeline]

    @property
    def said(self) -> list[str]:
        return _said(self.timeline)


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
        self._earlier: list[TranscriptLine] = []
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
        started = event["timestamp"] / 1000
        tool_calls.run_tool_call(runtime, event, enqueued_at=time.time())
        timeline = self._timeline(self.recorder.sent[first:], started)
        answered = next((i for i, item in enumerate(timeline) if _answers(item.message, call_id)), len(timeline) - 1)
        timeline = timeline[: answered + 1]
        messages = [item.message for item in timeline]
        answers = [m for m in messages if isinstance(m, Answer) and m.tool_call_id == call_id]
        record = read_call(self.redis, call_id)
        return CallResult(call_id, answers[0] if answers else None, messages, record, timeline, started)

    async def background(self, result: CallResult, timeout: float = 10.0) -> BackgroundResult:
        """Wait for a background tool's run (started by the call of `result`) to tell its result; what the chat
        received after the ack (other calls' answers left out; what other runs told at the same time is not),
        with times counted from the call, and the record. AssertionError after `timeout` seconds."""
        return await asyncio.to_thread(self.background_sync, result, timeout)

    def background_sync(self, result: CallResult, timeout: float = 10.0) -> BackgroundResult:
        assert wait_for_run(result.tool_call_id, timeout), f"the background run still runs after {timeout} s"
        acked = next(i for i, item in enumerate(self.recorder.sent) if _answers(item.message, result.tool_call_id))
        told = [item for item in self.recorder.sent[acked + 1 :] if not isinstance(item.message, Answer)]
        timeline = self._timeline(told, result.started_at)
        return BackgroundResult(timeline, read_call(self.redis, result.tool_call_id))

    def running(self) -> list[str]:
        """The tool call ids of this chat's calls running now (handlers, background runs)."""
        runtimes = self._runtimes.values()
        return sorted(call for runtime in runtimes for call in runtime.running_calls.running(self.chat_id))

    async def wait_running(self, count: int = 1, timeout: float = 5.0) -> list[str]:
        """Wait until `count` calls of this chat run (a call started with `asyncio.create_task(evi.call(...))`)."""
        until = time.monotonic() + timeout
        while len(running := self.running()) < count:
            assert time.monotonic() < until, f"{count} call(s) of {self.chat_id} were not running within {timeout} s"
            await asyncio.sleep(0.01)
        return running

    def interrupt(self) -> int:
        """The caller interrupts now (`user_interruption`): calls of tools with `cancel_on_interrupt=True` stop;
        how many did."""
        return sum(runtime.running_calls.interrupted(self.chat_id, now_ms()) for runtime in self._runtimes.values())

    def record(self, tool_call_id: str) -> dict[str, str]:
        return read_call(self.redis, tool_call_id)

    # --- the chat ---------------------------------------------------------------------------------------

    def set_transcript(self, lines: Iterable[Line]) -> None:
        """What was said so far: what `ctx.transcript()` returns, and the history a chat-ended hook gets."""
        self._history = _lines(lines)
        key = contract.conversation(self.chat_id)
        self.redis.delete(key)
        if self._history:
            self.redis.rpush(key, *(json.dumps(line.to_dict()) for line in self._history))

    def set_history(self, lines: Iterable[Line]) -> None:
        """An earlier chat of this chat's group: what `ctx.history()` returns. The chat becomes one that resumed
        its group (`chat_start_type` `resumed_chat_group`, also for `chat_started()`)."""
        self._earlier = _lines(lines)
        self.redis.delete(contract.group_history(self.chat_group_id))
        self.redis.hset(contract.chat_record(self.chat_id), "chat_start_type", self._start_type().value)

    def chat_started(self) -> dict[str, str]:
        """Fire `chat_started` at the hooks; returns the chat record. A failing hook raises `HookFailed`."""
        event = WebhookEventChatStarted(**self._ids(), chat_start_type=self._start_type(), start_time=now_ms())
        _off_the_loop(lifecycle.chat_started, self.runtime, event)
        return read_chat(self.redis, self.chat_id)

    def chat_ended(self, transcript: Iterable[Line] | None = None) -> dict[str, str]:
        """Fire `chat_ended` at the hooks, with the transcript set so far (or `transcript`); returns the chat
        record. Calls of the chat that run meanwhile stop or finish by their `on_chat_end`. A failing hook raises
        `HookFailed`."""
        if transcript is not None:
            self.set_transcript(transcript)
        event = WebhookEventChatEnded(
            **self._ids(), duration_seconds=0, end_reason=ChatStatus.USER_ENDED, end_time=now_ms()
        )
        for runtime in self._runtimes.values():
            if runtime is not self.runtime:
                runtime.running_calls.chat_ended(self.chat_id)
        _off_the_loop(lifecycle.chat_ended, self.runtime, event)
        return read_chat(self.redis, self.chat_id)

    def close(self) -> None:
        wait_for_runs(CLOSE_WAIT_SECONDS)
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

    def _start_type(self) -> ChatStartType:
        return ChatStartType.RESUMED_CHAT_GROUP if self._earlier else ChatStartType.NEW_CHAT_GROUP

    def _timeline(self, sent: list[SentMessage], started: float) -> list[Delivered]:
        return [Delivered(item.sent_at - started, item.message) for item in sent if item.chat_id == self.chat_id]

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
        """Hume's chat history API, serving the transcript set on the kit (what the chat-ended job fetches) and the
        group's earlier chat (what `ctx.history()` fetches)."""
        path = request.url.path
        if request.method == "GET" and path.startswith("/v0/evi/chats/"):
            return _events_page(self._history, self.chat_id)
        if request.method == "GET" and path == f"/v0/evi/chat_groups/{self.chat_group_id}/events":
            return _events_page(self._earlier, "earlier-chat")
        return httpx.Response(404, json={"detail": "the test kit serves only chat history"})


def _off_the_loop(job: Callable[..., object], *args: Any) -> None:
    """Run a lifecycle job as a worker does, in a thread with no running event loop (its hooks run on a loop of
    their own), also when called from an `async def` test."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        job(*args)
        return
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(job, *args).result()


def _lines(lines: Iterable[Line]) -> list[TranscriptLine]:
    return [line if isinstance(line, TranscriptLine) else TranscriptLine(*line, now_ms()) for line in lines]


def _answers(message: PublishMessage, tool_call_id: str) -> bool:
    return isinstance(message, Answer) and message.tool_call_id == tool_call_id


def _events_page(lines: list[TranscriptLine], chat_id: str) -> httpx.Response:
    kinds = {"user": "USER_MESSAGE", "assistant": "AGENT_MESSAGE"}
    events = [
        {"chat_id": chat_id, "type": kinds[line.role], "message_text": line.text, "timestamp": line.timestamp_ms}
        for line in lines
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
