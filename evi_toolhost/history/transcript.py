"""A chat's events (`return_chat_event`) and our call records made into one transcript: each message with the
strongest emotions Hume scored for it, each tool call with its answer and its latency by our records.

Hume's history carries a tool call (`FUNCTION_CALL`) and its answer (`FUNCTION_CALL_RESPONSE`) as the tool
message's JSON text; they are paired by `tool_call_id`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from evi_toolhost.history.call_records import CallRecords

TOP_EMOTIONS = 3
ROLES = {"USER_MESSAGE": "user", "AGENT_MESSAGE": "assistant"}


@dataclass(frozen=True)
class Message:
    chat_id: str
    time_ms: int
    role: str
    text: str
    emotions: tuple[tuple[str, float], ...]
    """The strongest expressions Hume scored, strongest first (empty for typed text)."""


@dataclass
class ToolCall:
    chat_id: str
    time_ms: int
    name: str
    arguments: str
    tool_call_id: str
    answer_type: str | None = None
    answer: str | None = None
    code: str | None = None
    latency_ms: int | None = None
    """From EVI's call to our answer, by our call record; None without one."""
    status: str | None = None
    """Our call record's status (answered, failed, timeout, ...)."""


Entry = Message | ToolCall


def _json(text: str | None) -> Any:
    try:
        return json.loads(text or "")
    except ValueError:
        return None


def strongest(emotion_features: str | None, count: int = TOP_EMOTIONS) -> tuple[tuple[str, float], ...]:
    scores = _json(emotion_features)
    if not isinstance(scores, dict):
        return ()
    numeric = [(str(name), float(score)) for name, score in scores.items() if isinstance(score, int | float)]
    return tuple(sorted(numeric, key=lambda item: -item[1])[:count])


def tool_call_ids(events: Sequence[dict[str, Any]]) -> list[str]:
    ids = []
    for event in events:
        if event.get("type") == "FUNCTION_CALL":
            message = _json(event.get("message_text"))
            if isinstance(message, dict) and message.get("tool_call_id"):
                ids.append(str(message["tool_call_id"]))
    return ids


def transcript(events: Sequence[dict[str, Any]], records: CallRecords) -> list[Entry]:
    entries: list[Entry] = []
    calls: dict[str, ToolCall] = {}
    for event in events:
        kind, chat_id, time_ms = event.get("type"), str(event.get("chat_id")), int(event.get("timestamp") or 0)
        if kind in ROLES:
            text = str(event.get("message_text") or "")
            entries.append(Message(chat_id, time_ms, ROLES[kind], text, strongest(event.get("emotion_features"))))
        elif kind == "FUNCTION_CALL":
            message = _json(event.get("message_text"))
            if not isinstance(message, dict):
                message = {"name": "(unreadable tool call)", "parameters": event.get("message_text") or ""}
            call_id = str(message.get("tool_call_id") or "")
            call = ToolCall(chat_id, time_ms, str(message.get("name")), str(message.get("parameters", "")), call_id)
            call.latency_ms = records.latency_ms(call_id)
            call.status = records.by_call.get(call_id, {}).get("status")
            calls[call_id] = call
            entries.append(call)
        elif kind == "FUNCTION_CALL_RESPONSE":
            answer = _json(event.get("message_text"))
            if isinstance(answer, dict) and str(answer.get("tool_call_id")) in calls:
                call = calls[str(answer["tool_call_id"])]
                if call.answer_type is None:
                    call.answer_type = answer.get("type")
                    call.answer = answer.get("content") or answer.get("error")
                    call.code = answer.get("code")
    return entries
