"""Chat signals between processes: published on one channel, applied to the calls each process runs."""

from __future__ import annotations

import asyncio
import json

import pytest
from fakeredis import FakeAsyncRedis, FakeRedis

from service.evi.timestamps import now_ms
from service.queue import contract
from workers import chat_signals
from workers.cancellation import RunningCalls
from workers.handlers.call_policy import CallPolicy


def test_publishing_applies_here_at_once_and_tells_the_channel(fake_redis: FakeRedis) -> None:
    calls = RunningCalls()
    watch = calls.add("chat-1", "call-1")
    pubsub = fake_redis.pubsub()
    pubsub.subscribe(contract.CHAT_SIGNALS)
    pubsub.get_message(timeout=1)  # the subscription's confirmation
    chat_signals.publish(fake_redis, calls, "chat-1", "ended")
    assert watch.stop.result(0) == "chat_ended"
    message = pubsub.get_message(timeout=1)
    assert message is not None
    assert json.loads(message["data"])["chat_id"] == "chat-1"
    assert json.loads(message["data"])["signal"] == "ended"


def test_a_listener_applies_what_another_process_publishes(fake_aredis: FakeAsyncRedis) -> None:
    calls = RunningCalls()
    watch = calls.add("chat-1", "call-1", CallPolicy(cancel_on_interrupt=True), triggered_ms=now_ms() - 1000)

    async def scenario() -> None:
        stop, subscribed = asyncio.Event(), asyncio.Event()
        listening = asyncio.create_task(chat_signals.listen(fake_aredis, calls, stop, on_subscribed=subscribed.set))
        await asyncio.wait_for(subscribed.wait(), 5)
        await chat_signals.publish_async(fake_aredis, "chat-1", "interrupted", now_ms())
        await asyncio.wait_for(asyncio.wrap_future(watch.stop), 5)
        stop.set()
        await asyncio.wait_for(listening, 5)

    asyncio.run(scenario())
    assert watch.stop.result(0) == "user_interruption"


@pytest.mark.parametrize("raw", ["not json", '{"chat_id": "chat-1"}', '{"chat_id": "c", "signal": "x", "at_ms": 1}'])
def test_a_malformed_signal_stops_nothing(raw: str) -> None:
    calls = RunningCalls()
    watch = calls.add("chat-1", "call-1")
    assert chat_signals.apply(calls, raw) == 0
    assert not watch.stop.done()


@pytest.mark.parametrize(
    ("time", "expected"),
    [
        (1_767_000_000_123, 1_767_000_000_123),  # Unix ms, as Hume's other timestamps
        (1_767_000_000, 1_767_000_000_999),  # Unix seconds: the end of that second
    ],
)
def test_an_interruption_time_is_read_in_either_unit(time: int, expected: int) -> None:
    assert chat_signals.interruption_ms(time) == expected


@pytest.mark.parametrize("time", [None, "soon", 4_200, True])
def test_an_interruption_time_that_is_no_timestamp_counts_as_now(time: object) -> None:
    before = now_ms()
    assert before <= chat_signals.interruption_ms(time) <= now_ms()


def test_a_socket_closed_with_its_chat_ends_the_running_calls_but_is_not_remembered() -> None:
    calls = RunningCalls()
    running = calls.add("chat-1", "call-1")
    assert chat_signals.apply(calls, chat_signals.encode("chat-1", "socket_closed")) == 1
    assert running.stop.result(0) == "chat_ended"
    assert not calls.add("chat-1", "call-2").chat_ended, "only Hume's chat_ended is remembered for later calls"
