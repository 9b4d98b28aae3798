"""Background runs whose worker died: their fallback is said once, past their time, and never twice."""

from __future__ import annotations

import pytest
from redis import Redis

from service.evi.control_plane import RecordingControlPlane
from service.evi.messages import AssistantInput
from service.evi.timestamps import now_ms
from service.queue import contract
from workers.background import LostRuns
from workers.background.lost import generic_fallback
from workers.records import read_call
from workers.runtime import Runtime


def lost_runs(runtime: Runtime) -> LostRuns:
    fallbacks = {"book_table": "The booking did not go through."}
    return LostRuns(
        runtime.aredis, runtime.delivery, fallback=fallbacks.get, record_ttl_seconds=60, claim_ttl_seconds=60
    )


def a_run(redis: Redis, call_id: str, due_in_ms: int, name: str = "book_table", chat_status: str = "active") -> None:
    record = {"chat_id": "chat-1", "name": name, "background_status": "running"}
    redis.hset(contract.call_record(call_id), mapping=record)  # type: ignore[arg-type]
    redis.hset(contract.chat_record("chat-1"), "status", chat_status)
    redis.zadd(contract.BACKGROUND_RUNS, {call_id: now_ms() + due_in_ms})


def test_a_run_past_due_has_its_fallback_said_and_is_recorded_lost(
    runtime: Runtime, fake_redis: Redis, control_plane: RecordingControlPlane
) -> None:
    a_run(fake_redis, "call-lost", due_in_ms=-1)
    a_run(fake_redis, "call-running", due_in_ms=60_000)
    assert runtime.run(lost_runs(runtime).sweep()) == 1
    assert control_plane.messages("chat-1") == [AssistantInput(text="The booking did not go through.")]
    assert read_call(fake_redis, "call-lost")["background_status"] == "lost"
    assert read_call(fake_redis, "call-running")["background_status"] == "running"
    assert fake_redis.zrange(contract.BACKGROUND_RUNS, 0, -1) == [b"call-running"]


def test_a_run_that_told_its_result_meanwhile_is_not_told_again(
    runtime: Runtime, fake_redis: Redis, control_plane: RecordingControlPlane
) -> None:
    a_run(fake_redis, "call-late", due_in_ms=-1)
    fake_redis.set(contract.background_told("call-late"), "run")
    assert runtime.run(lost_runs(runtime).sweep()) == 0
    assert control_plane.messages() == []
    assert fake_redis.zcard(contract.BACKGROUND_RUNS) == 0


@pytest.mark.parametrize(
    ("name", "chat_status", "said"), [("other_tool", "active", True), ("book_table", "ended", False)]
)
def test_a_tool_without_a_fallback_gets_a_generic_one_and_an_ended_chat_nothing(
    runtime: Runtime, fake_redis: Redis, control_plane: RecordingControlPlane, name: str, chat_status: str, said: bool
) -> None:
    a_run(fake_redis, "call-1", due_in_ms=-1, name=name, chat_status=chat_status)
    runtime.run(lost_runs(runtime).sweep())
    assert control_plane.messages() == ([AssistantInput(text=generic_fallback(name))] if said else [])
    assert read_call(fake_redis, "call-1")["background_status"] == "lost"
