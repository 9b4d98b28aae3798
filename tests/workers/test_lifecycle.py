"""Chat lifecycle jobs on fakeredis: the chat record, the transcript, and the hooks (with their deadline)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from redis import Redis

from service.evi.control_plane import RecordingControlPlane
from service.evi.messages import AssistantInput, SessionSettings
from service.evi.webhooks import WebhookEventChatEnded, WebhookEventChatStarted
from service.queue import contract
from tests.support.webhooks import chat_ended_payload, chat_started_payload
from workers import ChatContext, TranscriptLine
from workers.handlers.registry import Registry
from workers.jobs import run_chat_ended, run_chat_started
from workers.lifecycle import HookFailed
from workers.records import read_chat
from workers.runtime import Runtime


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


def test_chat_ended_first_stops_the_chat_s_calls_and_drops_its_group_s_cached_history(
    make_runtime: Callable[..., Runtime], fake_redis: Redis
) -> None:
    runtime = make_runtime(transcripts_enabled=False)
    running = runtime.running_calls.add("chat-4", "call-1")
    fake_redis.set(contract.group_history("group-1"), "[]")
    pubsub = fake_redis.pubsub()
    pubsub.subscribe(contract.CHAT_SIGNALS)
    pubsub.get_message(timeout=1)
    run_chat_ended(chat_ended_payload("chat-4"))
    assert running.stop.result(0) == "chat_ended"
    published = pubsub.get_message(timeout=1)
    assert published is not None and json.loads(published["data"])["chat_id"] == "chat-4"
    assert fake_redis.get(contract.group_history("group-1")) is None


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


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_hook_past_its_deadline_is_abandoned_recorded_and_fails_the_job(
    make_runtime: Callable[..., Runtime], registry: Registry, fake_redis: Redis, kind: str
) -> None:
    ran: list[str] = []
    if kind == "sync":

        @registry.on_chat_ended
        def stuck(event: WebhookEventChatEnded) -> None:
            time.sleep(5)

    else:

        @registry.on_chat_ended
        async def stuck(event: WebhookEventChatEnded) -> None:
            await asyncio.sleep(5)

    registry.on_chat_ended(lambda event: ran.append("after"))
    make_runtime(history_handler([]), hook_timeout_seconds=0.2, worker_concurrency=8)
    started = time.monotonic()
    with pytest.raises(HookFailed, match=r"stuck \(timeout after 0.2 s\)"):
        run_chat_ended(chat_ended_payload("chat-6"))
    assert time.monotonic() - started < 2
    assert ran == ["after"]  # the others still run
    assert "timeout after 0.2 s" in read_chat(fake_redis, "chat-6")["chat_ended_hook_errors"]
