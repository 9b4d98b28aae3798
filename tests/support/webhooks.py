"""Webhook payloads as Hume sends them, and their signed headers."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from service.evi.signing import sign


def tool_call_payload(
    name: str = "get_weather",
    arguments: dict[str, Any] | None = None,
    *,
    tool_call_id: str | None = None,
    chat_id: str = "chat-1",
    response_required: bool = True,
    timestamp_ms: int | None = None,
    chat_group_id: str = "group-1",
) -> dict[str, Any]:
    return {
        "event_name": "tool_call",
        "chat_group_id": chat_group_id,
        "chat_id": chat_id,
        "config_id": None,
        "caller_number": None,
        "custom_session_id": None,
        "twilio_metadata": None,
        "timestamp": timestamp_ms if timestamp_ms is not None else int(time.time() * 1000),
        "tool_call_message": {
            "type": "tool_call",
            "name": name,
            "parameters": json.dumps(arguments if arguments is not None else {"city": "Paris"}),
            "response_required": response_required,
            "tool_call_id": tool_call_id or f"toolu_{uuid.uuid4().hex}",
            "tool_type": "function",
            "custom_session_id": None,
        },
    }


def chat_started_payload(
    chat_id: str = "chat-1", *, chat_group_id: str = "group-1", chat_start_type: str = "new_chat_group"
) -> dict[str, Any]:
    return {
        "event_name": "chat_started",
        "chat_group_id": chat_group_id,
        "chat_id": chat_id,
        "config_id": "config-1",
        "caller_number": "+12223333333",
        "custom_session_id": None,
        "twilio_metadata": None,
        "chat_start_type": chat_start_type,
        "start_time": int(time.time() * 1000),
    }


def chat_ended_payload(chat_id: str = "chat-1") -> dict[str, Any]:
    return {
        "event_name": "chat_ended",
        "chat_group_id": "group-1",
        "chat_id": chat_id,
        "config_id": "config-1",
        "caller_number": None,
        "custom_session_id": None,
        "twilio_metadata": None,
        "duration_seconds": 42,
        "end_reason": "USER_ENDED",
        "end_time": int(time.time() * 1000),
    }


def signed(payload: dict[str, Any] | bytes, key: str, timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **sign(body, key, timestamp)}
    return body, headers
