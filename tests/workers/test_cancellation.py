"""The running calls of a runtime, and what a chat's end or the caller's interruption does to each."""

from __future__ import annotations

import pytest

from workers.cancellation import ENDED_MEMORY_SIZE, RunningCalls
from workers.handlers.call_policy import CallPolicy

CANCEL = CallPolicy()
FINISH = CallPolicy(on_chat_end="finish")
INTERRUPTIBLE = CallPolicy(cancel_on_interrupt=True)


def test_chat_end_stops_cancelling_calls_and_marks_finishing_ones() -> None:
    calls = RunningCalls()
    cancelling = calls.add("chat-1", "call-1", CANCEL)
    finishing = calls.add("chat-1", "call-2", FINISH)
    other_chat = calls.add("chat-2", "call-3", CANCEL)
    assert calls.chat_ended("chat-1") == 1
    assert (cancelling.stop.result(0), cancelling.chat_ended) == ("chat_ended", True)
    assert (finishing.stop.done(), finishing.chat_ended) == (False, True)
    assert (other_chat.stop.done(), other_chat.chat_ended) == (False, False)


def test_a_call_of_a_chat_that_already_ended_is_stopped_from_its_start() -> None:
    calls = RunningCalls()
    calls.chat_ended("chat-1")
    late = calls.add("chat-1", "call-1", CANCEL)
    assert (late.stop.result(0), late.chat_ended) == ("chat_ended", True)
    assert calls.add("chat-1", "call-2", FINISH).chat_ended


def test_the_memory_of_ended_chats_is_bounded() -> None:
    calls = RunningCalls()
    for number in range(ENDED_MEMORY_SIZE + 1):
        calls.chat_ended(f"chat-{number}")
    assert not calls.add("chat-0", "call-1").chat_ended
    assert calls.add(f"chat-{ENDED_MEMORY_SIZE}", "call-2").chat_ended


@pytest.mark.parametrize(
    ("policy", "triggered_ms", "at_ms", "stopped"),
    [
        (INTERRUPTIBLE, 1_000, 1_500, True),
        (INTERRUPTIBLE, 1_000, 1_000, True),
        (INTERRUPTIBLE, 1_000, 900, False),  # an older interruption, replayed to a socket that reconnected
        (CANCEL, 1_000, 1_500, False),  # the tool did not ask for it
        (CallPolicy(cancel_on_interrupt=True, background=True), 1_000, 1_500, False),
    ],
)
def test_an_interruption_stops_only_calls_that_ask_for_it_and_began_before_it(
    policy: CallPolicy, triggered_ms: int, at_ms: int, stopped: bool
) -> None:
    calls = RunningCalls()
    watch = calls.add("chat-1", "call-1", policy, triggered_ms=triggered_ms)
    assert calls.interrupted("chat-1", at_ms) == int(stopped)
    assert watch.stop.done() is stopped
    assert not watch.chat_ended


def test_a_finished_call_is_no_longer_watched_and_a_second_signal_stops_nothing_more() -> None:
    calls = RunningCalls()
    with calls.watching("chat-1", "call-1", INTERRUPTIBLE) as watch:
        assert calls.running("chat-1") == ["call-1"]
        assert calls.interrupted("chat-1", 10) == 1
        assert calls.interrupted("chat-1", 20) == 0
        assert calls.chat_ended("chat-1") == 0
        assert watch.stop.result(0) == "user_interruption"
    assert calls.running("chat-1") == []
