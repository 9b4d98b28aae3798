"""Events and call records made into a transcript: messages with their strongest emotions, tool calls paired with
their answers by tool_call_id and timed by our records, unreadable events kept visible."""

from __future__ import annotations

import json
from typing import Any

from evi_toolhost.history.call_records import CallRecords
from evi_toolhost.history.transcript import Message, ToolCall, strongest, tool_call_ids, transcript


def event(kind: str, text: str | None, at: int, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "chat_id": "chat-1", "timestamp": at, "message_text": text, **extra}


CALL = {"type": "tool_call", "name": "get_weather", "parameters": '{"city": "Paris"}', "tool_call_id": "call-1"}
ANSWER = {"type": "tool_response", "tool_call_id": "call-1", "content": "Sunny"}
SCORES = {"Joy": 0.2, "Interest": 0.7, "Awe": 0.1, "Calmness": 0.5}
EVENTS = [
    event(
        "USER_MESSAGE",
        "Weather in Paris?",
        1000,
        emotion_features=json.dumps(SCORES),
    ),
    event("FUNCTION_CALL", json.dumps(CALL), 1100),
    event("FUNCTION_CALL_RESPONSE", json.dumps(ANSWER), 1400),
    event("FUNCTION_CALL_RESPONSE", json.dumps({**ANSWER, "content": "a late duplicate"}), 1500),
    event("AGENT_MESSAGE", "It is sunny.", 1600),
    event("SESSION_SETTINGS", "{}", 1700),
]


def test_messages_and_tool_calls_in_order_with_answers_and_latency() -> None:
    records = CallRecords({"call-1": {"received_ms": "1100", "answered_ms": "1342", "status": "answered"}})
    user, call, agent = transcript(EVENTS, records)
    assert user == Message(
        "chat-1", 1000, "user", "Weather in Paris?", (("Interest", 0.7), ("Calmness", 0.5), ("Joy", 0.2))
    )
    assert isinstance(call, ToolCall)
    assert (call.name, call.arguments, call.answer_type, call.answer) == (
        "get_weather",
        '{"city": "Paris"}',
        "tool_response",
        "Sunny",
    )
    assert (call.latency_ms, call.status) == (242, "answered")
    assert agent == Message("chat-1", 1600, "assistant", "It is sunny.", ())


def test_without_records_the_latency_is_unknown() -> None:
    [_, call, _] = transcript(EVENTS, CallRecords(unavailable="no Redis"))
    assert isinstance(call, ToolCall) and call.latency_ms is None and call.answer == "Sunny"


def test_tool_call_ids_and_unreadable_events() -> None:
    assert tool_call_ids(EVENTS) == ["call-1"]
    [call] = transcript([event("FUNCTION_CALL", "not json", 1)], CallRecords())
    assert isinstance(call, ToolCall) and call.name == "(unreadable tool call)" and call.arguments == "not json"
    assert strongest("not json") == () and strongest(None) == ()
