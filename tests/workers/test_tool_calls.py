"""One tool call through the job code on fakeredis: claims, answer-once, records, and where the handler runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from redis import Redis

from service.evi.control_plane import RecordingControlPlane, Undeliverable
from service.evi.messages import PublishMessage
from service.queue import contract
from tests.support.webhooks import tool_call_payload
from workers.handlers.registry import Registry
from workers.jobs import run_tool_call
from workers.records import read_call
from workers.runtime import Runtime


@pytest.fixture
def runs(registry: Registry) -> list[str]:
    calls: list[str] = []

    @registry.tool
    def get_weather(city: str) -> dict[str, str]:
        calls.append(city)
        return {"city": city, "sky": "clear"}

    return calls


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
    assert fake_redis.zscore(contract.DEADLINES, tool_call_id) is None  # off the watchdog's list once answered


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
    fake_redis.set(contract.answered(tool_call_id), "tool_error")  # e.g. the watchdog answered already
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


def test_the_record_says_how_many_sends_delivering_took(
    make_runtime: Callable[..., Runtime], runs: list[str], fake_redis: Redis, control_plane: RecordingControlPlane
) -> None:
    async def third_time_lucky(chat_id: str, message: PublishMessage, *, deadline: float | None = None) -> int:
        return 3  # what HttpControlPlane returns after two retries

    async def refuse_twice(chat_id: str, message: PublishMessage, *, deadline: float | None = None) -> None:
        raise Undeliverable(503, "down", gave_up=True, attempts=2)

    for send, attempts in ((third_time_lucky, "3"), (refuse_twice, "2")):
        control_plane.send = send  # type: ignore[method-assign]
        make_runtime()
        event = tool_call_payload("get_weather", {"city": "Rome"})
        run_tool_call(event)
        assert read_call(fake_redis, event["tool_call_message"]["tool_call_id"])["delivery_attempts"] == attempts


def test_handlers_run_on_their_job_threads_own_loop_which_persists_across_jobs(
    runtime: Runtime, registry: Registry
) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    @registry.tool
    async def where() -> str:
        loops.append(asyncio.get_running_loop())
        return "here"

    run_tool_call(tool_call_payload("where", {}))
    run_tool_call(tool_call_payload("where", {}))
    assert loops[0] is loops[1] is runtime.job_loop()
    assert loops[0] is not runtime.loop  # not the loop delivery and the shared clients live on
