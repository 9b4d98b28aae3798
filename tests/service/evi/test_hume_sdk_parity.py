"""Payloads built with the official `hume` SDK's webhook models parse to the same values in ours."""

from __future__ import annotations

from typing import Any

import pytest
from hume.empathic_voice.types import (
    ToolCallMessage,
    WebhookEventChatEnded,
    WebhookEventChatStarted,
    WebhookEventToolCall,
)
from pydantic import BaseModel

from service.evi import webhook_event_adapter

COMMON: dict[str, Any] = {"chat_group_id": "9fc18597-3567-42d5-94d6-935bde84bf2f", "chat_id": "470a49f6-1dec"}
FULL: dict[str, Any] = {
    "config_id": "1b60e1a0-cc59-424a-8d2c-189d354db3f3",
    "caller_number": "+12223333333",
    "custom_session_id": "session-7",
    "twilio_metadata": {"call_sid": "CA123", "from_city": ""},
}
TOOL_CALL = ToolCallMessage(
    name="get_weather",
    parameters='{"city": "Paris", "unit": "celsius"}',
    response_required=True,
    tool_call_id="call_Jkdh3Pq",
    tool_type="function",
    type="tool_call",
    custom_session_id="session-7",
)

CASES: dict[str, BaseModel] = {
    "tool_call_minimal": WebhookEventToolCall(
        **COMMON, event_name="tool_call", timestamp=1_764_000_000_123, tool_call_message=TOOL_CALL
    ),
    "tool_call_full": WebhookEventToolCall(
        **COMMON, **FULL, event_name="tool_call", timestamp=1_764_000_000_123, tool_call_message=TOOL_CALL
    ),
    "chat_started": WebhookEventChatStarted(
        **COMMON, **FULL, event_name="chat_started", chat_start_type="resumed_chat_group", start_time=1_764_000_000_000
    ),
    "chat_ended_minimal": WebhookEventChatEnded(
        **COMMON,
        event_name="chat_ended",
        duration_seconds=95,
        end_reason="USER_TIMEOUT",
        end_time=1_764_000_095_000,
    ),
}


def plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return {name: plain(getattr(value, name)) for name in type(value).model_fields}
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return getattr(value, "value", value)


@pytest.mark.parametrize("case", sorted(CASES))
def test_sdk_payload_parses_to_the_same_values(case: str) -> None:
    sdk_event = CASES[case]
    ours = webhook_event_adapter.validate_json(sdk_event.json())
    assert type(ours).__name__ == type(sdk_event).__name__
    sdk_values = plain(sdk_event)
    our_values = plain(ours)
    assert set(sdk_values) <= set(our_values)
    for field, value in sdk_values.items():
        assert our_values[field] == value, field
