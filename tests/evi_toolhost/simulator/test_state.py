"""SimulatorState used directly, as in-process tests do: answers across chats, waiting, thread safety."""

from __future__ import annotations

import asyncio
import threading

import pytest

from evi_toolhost.simulator import SimulatorState
from evi_toolhost.simulator.errors import ApiError
from service.evi.messages import ToolResponseMessage, publish_message_adapter


def answer(state: SimulatorState, chat_id: str, tool_call_id: str, content: str = "ok") -> None:
    raw = {"type": "tool_response", "tool_call_id": tool_call_id, "content": content}
    state.receive(chat_id, publish_message_adapter.validate_python(raw), raw, "http")


def test_answers_for_collects_a_tool_call_across_chats_in_arrival_order() -> None:
    state = SimulatorState()
    first, second = state.start_chat(), state.start_chat()
    answer(state, first.id, "t1", "one")
    answer(state, second.id, "t2", "other")
    answer(state, second.id, "t1", "two")
    assert [r.message["content"] for r in state.answers_for("t1")] == ["one", "two"]
    assert [r.chat_id for r in state.answers_for("t1")] == [first.id, second.id]
    assert state.answers_for("t3") == []


def test_wait_for_answers_wakes_on_an_answer_from_another_thread() -> None:
    state = SimulatorState()
    chat = state.start_chat()

    async def scenario() -> list[str]:
        waiting = asyncio.create_task(state.wait_for_answers("t1", timeout=10))
        while state.waiting_for("t1") == 0:
            await asyncio.sleep(0)
        sender = threading.Thread(target=answer, args=(state, chat.id, "t1", "from a thread"))
        sender.start()
        answers = await waiting
        sender.join()
        return [r.message["content"] for r in answers]

    assert asyncio.run(scenario()) == ["from a thread"]
    assert state.waiting_for("t1") == 0


def test_wait_for_answers_returns_at_once_when_already_answered() -> None:
    state = SimulatorState()
    answer(state, state.start_chat().id, "t1")
    assert len(asyncio.run(state.wait_for_answers("t1", timeout=30))) == 1


def test_receive_refuses_unknown_and_ended_chats() -> None:
    state = SimulatorState()
    message = ToolResponseMessage(tool_call_id="t", content="x")
    with pytest.raises(ApiError) as unknown:
        state.receive("nope", message, {}, "http")
    chat = state.start_chat()
    state.end_chat(chat.id)
    with pytest.raises(ApiError) as ended:
        state.receive(chat.id, message, {}, "http")
    assert (unknown.value.status, ended.value.status) == (404, 404)
    assert state.answers_for("t") == []


def test_chat_ids_are_unique() -> None:
    state = SimulatorState()
    state.start_chat(chat_id="c")
    with pytest.raises(ApiError, match="already exists"):
        state.start_chat(chat_id="c")
