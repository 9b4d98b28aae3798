"""What the caller hears while a tool runs, and what stops a call, against the real stack: web, a worker pool, a
relay holding the chats' sockets, Redis, and the simulator as EVI. Each test prints what it measured."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest

from evi_toolhost.embedded_redis import EmbeddedRedis
from evi_toolhost.simulator import ReceivedMessage
from service.queue import contract
from tests.support.servers import wait_for
from tests.support.stack import Stack
from tests.support.webhooks import chat_ended_payload, chat_started_payload, tool_call_payload
from workers.records import read_call, read_chat

pytestmark = pytest.mark.integration

TOOL_MODULES = "tests.integration.voice_tools"
SLOW_PHRASES = ("Still checking.", "Almost there.")


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    stack = Stack(redis_server.url, TOOL_MODULES).start()
    try:
        stack.start_worker(2)
        stack.start_relay()
        yield stack
    finally:
        stack.close()


def key() -> str:
    return uuid.uuid4().hex


def chat_with_socket(stack: Stack) -> str:
    chat_id = stack.chat(announce=True)
    wait_for(lambda: stack.redis.hget(contract.socket_state(chat_id), "state") == b"open", timeout=10)
    return chat_id


def received(stack: Stack, chat_id: str) -> list[ReceivedMessage]:
    return list(stack.sim.get_chat(chat_id).received)


def kinds(messages: list[ReceivedMessage]) -> list[str]:
    return [str(item.message["type"]) for item in messages]


def noted(stack: Stack, what: str, name: str, timeout: float = 10) -> float:
    """When the tool noted `what` (epoch seconds), waiting for it."""
    return float(wait_for(lambda: stack.redis.get(f"test:{what}:{name}"), timeout=timeout))


def test_a_slow_tool_says_its_start_phrase_then_one_slow_phrase_then_answers_and_a_quick_one_no_slow_one(
    stack: Stack,
) -> None:
    chat_id = chat_with_socket(stack)
    quick, _ = stack.call("voice_lookup", {"key": key(), "seconds": 0.1}, chat_id)
    stack.only_answer(quick)
    slow, _ = stack.call("voice_lookup", {"key": key(), "seconds": 2}, chat_id)
    stack.only_answer(slow)
    # The quick call's slow phrase, had there been one, would have come half a second after its start, in the
    # middle of the slow call: it is not there.
    quick_start, quick_answer, start, slow_phrase, answer = received(stack, chat_id)
    assert kinds([quick_start, quick_answer]) == ["assistant_input", "tool_response"]
    assert (start.message["text"], slow_phrase.message["text"] in SLOW_PHRASES) == ("One moment.", True)
    assert answer.message["type"] == "tool_response" and answer.message["tool_call_id"] == slow
    gap = slow_phrase.received_at - start.received_at
    assert 0.25 <= gap <= 0.75, f"the slow phrase came {gap:.3f} s after the start phrase, not about 0.5 s"
    assert answer.received_at - start.received_at >= 2
    assert {item.transport for item in (start, slow_phrase, answer)} == {"socket"}
    took = answer.received_at - start.received_at
    print(f"\nstart phrase → slow phrase: {gap:.3f} s (slow_after=0.5); → answer {took:.2f} s")


def test_a_background_tool_is_acked_at_once_then_told_as_session_settings_then_speech(stack: Stack) -> None:
    chat_id = chat_with_socket(stack)
    name = key()
    call_id, _ = stack.call("voice_book", {"key": name, "seconds": 1}, chat_id)
    ack = stack.only_answer(call_id)
    record = read_call(stack.redis, call_id)
    assert ack.message["content"] == "I've started that and will tell you when it's done."
    acked_after = ack.received_at - int(record["started_ms"]) / 1000
    assert acked_after < 0.2, f"the ack came {acked_after:.3f} s after pickup"
    assert record["background_status"] == "running"
    told = wait_for(lambda: read_call(stack.redis, call_id).get("background_status") == "answered", timeout=10)
    assert told
    ack_at, settings, said = received(stack, chat_id)
    assert kinds([settings, said]) == ["session_settings", "assistant_input"]
    assert said.message["text"] == f"Your booking {name} is confirmed."
    assert settings.message["context"]["type"] == "temporary" and name in settings.message["context"]["text"]
    assert said.received_at - ack_at.received_at >= 1
    later = said.received_at - ack.received_at
    print(f"\nack {acked_after * 1000:.0f} ms after pickup; result told {later:.2f} s after it")


def test_a_background_result_whose_chat_ended_first_is_recorded_not_sent(stack: Stack) -> None:
    chat_id = chat_with_socket(stack)
    name = key()
    call_id, _ = stack.call("voice_book_anyway", {"key": name, "seconds": 1.5}, chat_id)
    stack.only_answer(call_id)
    noted(stack, "begun", name)
    stack.sim.end_chat(chat_id)
    stack.post(chat_ended_payload(chat_id))
    attempts = stack.sim.http_send_attempts[chat_id]
    record = wait_for(lambda: (r := read_call(stack.redis, call_id)).get("background_status") == "chat_ended" and r)
    noted(stack, "finished", name)
    assert record["background_answer_type"] == "tool_response"
    assert kinds(received(stack, chat_id)) == ["tool_response"], "the ack, then nothing"
    assert stack.sim.http_send_attempts[chat_id] == attempts


def test_chat_ended_cancels_a_running_call_at_once_and_lets_a_finish_one_complete_sending_nothing(
    stack: Stack,
) -> None:
    chat_id = stack.chat(allow_connection=False, announce=True)  # no socket: the webhook is the only news
    cancelled, finishing = key(), key()
    cancel_call, _ = stack.call("voice_cancel", {"key": cancelled}, chat_id)
    finish_call, _ = stack.call("voice_finish", {"key": finishing}, chat_id)
    noted(stack, "begun", cancelled)
    noted(stack, "begun", finishing)
    stack.sim.end_chat(chat_id)
    ended_at = time.time()
    stack.post(chat_ended_payload(chat_id))
    stopped_after = noted(stack, "cancelled", cancelled) - ended_at
    assert stopped_after < 0.5, f"cancelled {stopped_after:.3f} s after chat_ended"
    record = stack.record(cancel_call)
    assert (record["status"], record["cancel_reason"]) == ("cancelled", "chat_ended")
    finished = stack.record(finish_call)
    noted(stack, "finished", finishing)
    assert (finished["status"], finished["answer_type"], finished["on_chat_end"]) == (
        "chat_ended",
        "tool_response",
        "finish",
    )
    assert received(stack, chat_id) == [] and stack.sim.http_send_attempts[chat_id] == 0, "nothing sent"
    for call in (cancel_call, finish_call):
        assert stack.redis.zscore(contract.DEADLINES, call) is None, "no timeout answer will follow either"
    print(f"\nchat_ended webhook → handler cancelled: {stopped_after * 1000:.0f} ms")


def test_the_socket_closing_with_the_chat_cancels_before_any_webhook(stack: Stack) -> None:
    chat_id = chat_with_socket(stack)
    name = key()
    call_id, _ = stack.call("voice_cancel", {"key": name}, chat_id)
    noted(stack, "begun", name)
    ended_at = time.time()
    stack.sim.end_chat(chat_id)  # EVI closes the socket (1000); no chat_ended webhook is posted
    stopped_after = noted(stack, "cancelled", name) - ended_at
    assert stopped_after < 0.5, f"cancelled {stopped_after:.3f} s after the socket closed"
    assert stack.record(call_id)["status"] == "cancelled"
    assert received(stack, chat_id) == []
    print(f"\nsocket closed with the chat → handler cancelled: {stopped_after * 1000:.0f} ms")


def test_a_user_interruption_cancels_a_tool_that_asks_for_it_with_a_cancelled_answer(stack: Stack) -> None:
    chat_id = chat_with_socket(stack)
    name, other = key(), key()
    call_id, _ = stack.call("voice_search", {"key": name}, chat_id)
    kept, _ = stack.call("voice_finish", {"key": other, "seconds": 1}, chat_id)
    noted(stack, "begun", name)
    noted(stack, "begun", other)
    interrupted_at = time.time()
    stack.sim.add_user_interruption(chat_id)
    answer = stack.only_answer(call_id)
    assert (answer.message["type"], answer.message["code"], answer.transport) == ("tool_error", "cancelled", "socket")
    answered_after = answer.received_at - interrupted_at
    assert answered_after < 0.5, f"answered {answered_after:.3f} s after the interruption"
    noted(stack, "cancelled", name)
    record = read_call(stack.redis, call_id)
    assert (record["status"], record["cancel_reason"]) == ("cancelled", "user_interruption")
    assert stack.only_answer(kept).message["content"] == "paid", "a tool that did not ask for it runs on"
    print(f"\nuser_interruption → tool_error cancelled at EVI: {answered_after * 1000:.0f} ms")


def test_a_tool_result_s_session_settings_arrive_before_its_answer(stack: Stack) -> None:
    chat_id = chat_with_socket(stack)
    name = key()
    call_id, _ = stack.call("voice_remember", {"key": name}, chat_id)
    answer = stack.only_answer(call_id)
    settings, response = received(stack, chat_id)
    assert kinds([settings, response]) == ["session_settings", "tool_response"] and response == answer
    assert settings.received_at <= response.received_at
    assert stack.sim.get_chat(chat_id).variables == {"booking_ref": name}
    assert stack.sim.get_chat(chat_id).context == {"text": f"The booking is {name}.", "type": "persistent"}


def test_a_resumed_chat_reads_the_earlier_chat_of_its_group(stack: Stack) -> None:
    earlier = stack.sim.start_chat()
    stack.sim.add_user_message(earlier.id, "I'd like a table on Friday.")
    stack.sim.add_assistant_message(earlier.id, "For how many people?")
    stack.sim.end_chat(earlier.id)
    group = earlier.chat_group_id
    resumed = stack.sim.start_chat(chat_group_id=group)
    stack.post(chat_started_payload(resumed.id, chat_group_id=group, chat_start_type="resumed_chat_group"))
    wait_for(lambda: read_chat(stack.redis, resumed.id).get("chat_start_type") == "resumed_chat_group")
    payload = tool_call_payload("voice_earlier", {}, chat_id=resumed.id, chat_group_id=group)
    stack.post(payload)
    answer = stack.only_answer(payload["tool_call_message"]["tool_call_id"])
    assert json.loads(answer.message["content"]) == [
        "user: I'd like a table on Friday.",
        "assistant: For how many people?",
    ]
