"""The RQ job functions on fakeredis: claims, answer-once, records, the guard, lifecycle and hooks."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from rq.serializers import JSONSerializer

from service.evi.control_plane import RecordingControlPlane, Undeliverable
from service.evi.messages import AssistantInput, PublishMessage, SessionSettings
from service.evi.webhooks import WebhookEventChatEnded, WebhookEventChatStarted, WebhookEventToolCall
from service.queue import contract
from service.queue.contract import TOOLS_QUEUE
from tests.support.webhooks import chat_ended_payload, chat_started_payload, tool_call_payload
from workers import ChatContext, ToolContext, TranscriptLine
from workers.guard import GUARD_JOB_TIMEOUT_SECONDS, guard_job_id
from workers.handlers.registry import Registry
from workers.jobs import answer_abandoned_tool_call, run_chat_ended, run_chat_started, run_tool_call
from workers.lifecycle import HookFailed
from workers.records import read_call, read_chat
from workers.runtime import Runtime
from workers.tool_calls import claim_run


@pytest.fixture
def runs(registry: Registry) -> list[str]:
    calls: list[str] = []

    @registry.tool
    def get_weather(city: str) -> dict[str, str]:
        calls.append(city)
        return {"city": city, "sky": "clear"}

    return calls


def scheduled_guards(redis: Redis) -> list[str]:
    queue = Queue(TOOLS_QUEUE, connection=redis, serializer=JSONSerializer)
    return list(ScheduledJobRegistry(queue=queue).get_job_ids())


def test_tool_call_is_answered_and_recorded(
    runtime: Runtime, runs: list[str], control_plane: RecordingControlPlane, fake_redis: Redis
) -> None:
    event = tool_call_payload("get_weather", {"city": "Paris"}, chat_id="chat-1")
    tool_call_id = event["tool_call_message"]["tool_call_id"]
    assert run_tool_call(event) == "answered"
    assert runs == ["Paris"]
    (sent,) = control_plane.sent
    assert sent.chat_id == "chat-1"
    assert sent.message.type == "tool_response"
    assert sent.message.tool_call_id == tool_call_id  # type: ignore[union-attr]
    record = read_call(fake_redis, tool_call_id)
    assert {k: record[k] for k in ("name", "chat_id", "status", "answer_type", "transport", "ran")} == {
        "name": "get_weather",
        "chat_id": "chat-1",
        "status": "answered",
        "answer_type": "tool_response",
        "transport": "http",
        "ran": "1",
    }
    received, started, finished, answered = (
        int(record[k]) for k in ("received_ms", "started_ms", "finished_ms", "answered_ms")
    )
    assert received == event["timestamp"] <= started <= finished <= answered
    assert 0 < fake_redis.ttl(contract.call_record(tool_call_id)) <= runtime.settings.record_ttl_seconds
    assert scheduled_guards(fake_redis) == []  # the guard is cancelled once answered


def test_the_answer_carries_the_chat_custom_session_id(
    runtime: Runtime, runs: list[str], control_plane: RecordingControlPlane
) -> None:
    event = tool_call_payload("get_weather", {"city": "Paris"})
    event["custom_session_id"] = "session-42"
    run_tool_call(event)
    (sent,) = control_plane.messages()
    assert sent.custom_session_id == "session-42"


def test_the_same_call_run_twice_runs_the_handler_once_and_answers_once(
    runtime: Runtime, runs: list[str], control_plane: RecordingControlPlane
) -> None:
    event = tool_call_payload("get_weather", {"city": "Oslo"})
    assert run_tool_call(event) == "answered"
    assert run_tool_call(event) == "duplicate"
    assert runs == ["Oslo"]
    assert len(control_plane.sent) == 1


def test_an_answer_is_never_sent_twice(
    runtime: Runtime, runs: list[str], control_plane: RecordingControlPlane, fake_redis: Redis
) -> None:
    event = tool_call_payload("get_weather", {"city": "Rome"})
    tool_call_id = event["tool_call_message"]["tool_call_id"]
    fake_redis.set(contract.answered(tool_call_id), "tool_error")  # e.g. the guard answered already
    assert run_tool_call(event) == "duplicate"
    assert control_plane.sent == []


def test_no_response_required_runs_and_sends_nothing(
    runtime: Runtime, runs: list[str], control_plane: RecordingControlPlane, fake_redis: Redis
) -> None:
    event = tool_call_payload("get_weather", {"city": "Rome"}, response_required=False)
    event["tool_call_message"]["tool_type"] = "builtin"
    assert run_tool_call(event) == "not_required"
    assert (runs, control_plane.sent) == ([], [])
    record = read_call(fake_redis, event["tool_call_message"]["tool_call_id"])
    assert (record["status"], record["tool_type"]) == ("not_required", "builtin")


def test_call_picked_up_after_its_deadline_is_answered_timeout_without_running(
    runtime: Runtime, runs: list[str], control_plane: RecordingControlPlane, fake_redis: Redis
) -> None:
    stale = int((time.time() - runtime.settings.tool_timeout_seconds - 1) * 1000)
    event = tool_call_payload("get_weather", {"city": "Rome"}, timestamp_ms=stale)
    assert run_tool_call(event) == "timeout"
    assert runs == []
    (sent,) = control_plane.messages()
    assert (sent.type, sent.code) == ("tool_error", "timeout")  # type: ignore[union-attr]
    assert read_call(fake_redis, event["tool_call_message"]["tool_call_id"])["ran"] == "0"


def test_undeliverable_answer_is_recorded(
    make_runtime: Callable[..., Runtime], runs: list[str], fake_redis: Redis, control_plane: RecordingControlPlane
) -> None:
    async def refuse(chat_id: str, message: PublishMessage, *, deadline: float | None = None) -> None:
        raise Undeliverable(404, '{"detail": "chat not found"}')

    control_plane.send = refuse  # type: ignore[method-assign]
    make_runtime()
    event = tool_call_payload("get_weather", {"city": "Rome"})
    assert run_tool_call(event) == "undeliverable"
    record = read_call(fake_redis, event["tool_call_message"]["tool_call_id"])
    assert (record["status"], record["http_status"], record["answer_type"]) == ("undeliverable", "404", "tool_response")


def test_the_guard_is_scheduled_after_the_deadline_while_the_call_runs(
    runtime: Runtime, registry: Registry, fake_redis: Redis
) -> None:
    seen: list[tuple[list[str], float | None, float]] = []
    queue = Queue(TOOLS_QUEUE, connection=fake_redis, serializer=JSONSerializer)
    scheduled = ScheduledJobRegistry(queue=queue)

    @registry.tool(timeout=4)
    def observe(ctx: ToolContext) -> str:
        guards = scheduled_guards(fake_redis)
        seen.append((guards, fake_redis.zscore(scheduled.key, guards[0]) if guards else None, ctx.deadline))
        return "ok"

    event = tool_call_payload("observe", {})
    run_tool_call(event)
    ((guards, fires_at, deadline),) = seen
    assert guards == [guard_job_id(WebhookEventToolCall.model_validate(event))]
    # Whole seconds, at least a second after the deadline: it can never pre-empt a real answer.
    assert fires_at == math.ceil(deadline) + 1
    assert scheduled_guards(fake_redis) == []


def test_guard_answers_timeout_when_the_worker_died(
    runtime: Runtime, runs: list[str], control_plane: RecordingControlPlane, fake_redis: Redis
) -> None:
    event = tool_call_payload("get_weather", {"city": "Rome"})
    tool_call_id = event["tool_call_message"]["tool_call_id"]
    fake_redis.set(contract.run_claim(tool_call_id), "a-worker-that-was-killed")
    assert answer_abandoned_tool_call(event, time.time() - 1) == "timeout"
    (sent,) = control_plane.messages()
    assert (sent.type, sent.code) == ("tool_error", "timeout")  # type: ignore[union-attr]
    assert read_call(fake_redis, tool_call_id)["note"] == "worker_lost"
    # And the original job, if it ever ran again, would neither run the handler nor answer.
    assert run_tool_call(event) == "duplicate"
    assert runs == [] and len(control_plane.sent) == 1


def test_guard_job_as_scheduled_answers_in_a_dead_workers_place(
    runtime: Runtime, runs: list[str], control_plane: RecordingControlPlane, fake_redis: Redis
) -> None:
    event = tool_call_payload("get_weather", {"city": "Rome"})
    tool_call = WebhookEventToolCall.model_validate(event)
    deadline = time.time() - 1
    # What a worker does before running the handler; then it "dies".
    assert claim_run(runtime, tool_call, event, deadline, None)
    guard = Job.fetch(guard_job_id(tool_call), connection=fake_redis, serializer=JSONSerializer)
    assert (guard.timeout, guard.enqueue_at_front) == (GUARD_JOB_TIMEOUT_SECONDS, True)
    assert guard.perform() == "timeout"  # as RQ runs it once the scheduler enqueues it
    (sent,) = control_plane.messages()
    assert (sent.type, sent.code) == ("tool_error", "timeout")  # type: ignore[union-attr]
    assert runs == []


def test_guard_does_nothing_once_answered(
    runtime: Runtime, runs: list[str], control_plane: RecordingControlPlane
) -> None:
    event = tool_call_payload("get_weather", {"city": "Rome"})
    run_tool_call(event)
    assert answer_abandoned_tool_call(event, time.time()) == "already answered"
    assert len(control_plane.sent) == 1


# --- lifecycle ----------------------------------------------------------------------------------------


def history_handler(events: list[dict[str, Any]], page_size: int = 100) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page_number"])
        size = int(request.url.params["page_size"])
        return httpx.Response(
            200,
            json={
                "id": "chat-1",
                "chat_group_id": "group-1",
                "status": "USER_ENDED",
                "start_timestamp": 1,
                "pagination_direction": "ASC",
                "page_number": number,
                "page_size": size,
                "total_pages": max(1, -(-len(events) // size)),
                "events_page": events[number * size : (number + 1) * size],
            },
        )

    return handle


def conversation(turns: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"type": "CHAT_START_MESSAGE", "timestamp": 1_795_000_000_000}]
    for i in range(turns):
        events.append({"type": "USER_MESSAGE", "message_text": f"question {i}", "timestamp": 1_795_000_001_000 + i})
        events.append({"type": "ASSISTANT_PROSODY", "timestamp": 1_795_000_001_000 + i})
        events.append({"type": "AGENT_MESSAGE", "message_text": f"answer {i}", "timestamp": 1_795_000_002_000 + i})
    return events


def test_chat_started_records_the_chat_and_runs_hooks(
    runtime: Runtime, registry: Registry, control_plane: RecordingControlPlane, fake_redis: Redis
) -> None:
    seen: list[tuple[WebhookEventChatStarted, ChatContext]] = []

    @registry.on_chat_started
    async def greet(event: WebhookEventChatStarted, ctx: ChatContext) -> None:
        seen.append((event, ctx))
        await ctx.send(SessionSettings(variables={"name": "Ada"}))

    run_chat_started(chat_started_payload("chat-7"))
    ((event, ctx),) = seen
    assert (event.chat_id, ctx.chat_id, ctx.caller_number, ctx.config_id) == (
        "chat-7",
        "chat-7",
        "+12223333333",
        "config-1",
    )
    assert [m.type for m in control_plane.messages("chat-7")] == ["session_settings"]
    record = read_chat(fake_redis, "chat-7")
    assert (record["status"], record["chat_group_id"], record["config_id"]) == ("active", "group-1", "config-1")
    assert int(record["start_time_ms"]) > 0
    assert 0 < fake_redis.ttl(contract.chat_record("chat-7")) <= runtime.settings.record_ttl_seconds


def test_chat_ended_fetches_every_page_and_hands_the_transcript_in_order(
    make_runtime: Callable[..., Runtime], registry: Registry, fake_redis: Redis
) -> None:
    got: list[list[TranscriptLine]] = []

    @registry.on_chat_ended
    def keep(event: WebhookEventChatEnded, ctx: ChatContext, transcript: list[TranscriptLine]) -> None:
        got.append(transcript)

    make_runtime(history_handler(conversation(60)))  # 181 events: two pages of 100
    run_chat_started(chat_started_payload("chat-1"))
    assert run_chat_ended(chat_ended_payload("chat-1")) == "recorded, 120 transcript lines"
    (lines,) = got
    assert [line.text for line in lines[:4]] == ["question 0", "answer 0", "question 1", "answer 1"]
    assert [line.role for line in lines[-2:]] == ["user", "assistant"]
    assert lines[-1].text == "answer 59"
    stored = json.loads(fake_redis.get(contract.transcript("chat-1")) or b"[]")
    assert stored[0] == {"role": "user", "text": "question 0", "timestamp_ms": 1_795_000_001_000}
    record = read_chat(fake_redis, "chat-1")
    assert (record["status"], record["end_reason"], record["duration_seconds"]) == ("ended", "USER_ENDED", "42")
    assert (record["transcript_lines"], record["transcript_events"]) == ("120", "181")


def test_chat_ended_before_chat_started_stays_ended(make_runtime: Callable[..., Runtime], fake_redis: Redis) -> None:
    make_runtime(history_handler([]))
    run_chat_ended(chat_ended_payload("chat-2"))
    run_chat_started(chat_started_payload("chat-2"))
    assert read_chat(fake_redis, "chat-2")["status"] == "ended"


def test_transcripts_can_be_turned_off(
    make_runtime: Callable[..., Runtime], registry: Registry, fake_redis: Redis
) -> None:
    got: list[list[TranscriptLine]] = []
    registry.on_chat_ended(lambda event, ctx, transcript: got.append(transcript))
    make_runtime(transcripts_enabled=False)  # any HTTP request would fail the test
    run_chat_ended(chat_ended_payload("chat-3"))
    assert got == [[]]
    assert fake_redis.get(contract.transcript("chat-3")) is None


def test_a_failing_hook_does_not_stop_the_others_and_fails_the_job(
    make_runtime: Callable[..., Runtime], registry: Registry, fake_redis: Redis
) -> None:
    ran: list[str] = []

    @registry.on_chat_ended
    def broken(event: WebhookEventChatEnded) -> None:
        ran.append("broken")
        raise ValueError("bad hook")

    @registry.on_chat_ended
    async def fine(event: WebhookEventChatEnded, ctx: ChatContext) -> None:
        ran.append("fine")
        with pytest.raises(RuntimeError, match="has ended"):
            await ctx.send(AssistantInput(text="too late"))

    make_runtime(history_handler([]))
    with pytest.raises(HookFailed, match=r"1 of 2 chat_ended hooks failed for chat chat-4: .*broken \(ValueError\)"):
        run_chat_ended(chat_ended_payload("chat-4"))
    assert ran == ["broken", "fine"]
    errors = json.loads(read_chat(fake_redis, "chat-4")["chat_ended_hook_errors"])
    assert errors == [{"hook": f"{broken.__module__}.{broken.__qualname__}", "error": "ValueError"}]


def test_transcript_fetch_failure_is_recorded_and_fails_the_job(
    make_runtime: Callable[..., Runtime], registry: Registry, fake_redis: Redis
) -> None:
    ran: list[str] = []
    registry.on_chat_ended(lambda event: ran.append("hook"))
    make_runtime(lambda request: httpx.Response(503))
    with pytest.raises(Exception, match="HTTP 503"):
        run_chat_ended(chat_ended_payload("chat-5"))
    assert ran == []
    assert "HTTP 503" in read_chat(fake_redis, "chat-5")["transcript_error"]


def test_async_loop_persists_across_jobs(runtime: Runtime, registry: Registry) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    @registry.tool
    async def where() -> str:
        loops.append(asyncio.get_running_loop())
        return "here"

    run_tool_call(tool_call_payload("where", {}))
    run_tool_call(tool_call_payload("where", {}))
    assert loops == [runtime.loop, runtime.loop]
