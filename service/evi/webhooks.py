"""Webhook events EVI posts to us: `chat_started`, `chat_ended`, `tool_call`.

The spec lists `config_id`, `caller_number`, `custom_session_id` and `twilio_metadata` as required but
nullable; Hume's own SDK models them as optional and leaves them out when empty, so here they
default to None rather than rejecting a payload that omits them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from service.evi.messages import EviModel, ToolCallMessage


class ChatStatus(StrEnum):
    """`WebhookEventChatStatus`."""

    ACTIVE = "ACTIVE"
    USER_ENDED = "USER_ENDED"
    USER_TIMEOUT = "USER_TIMEOUT"
    INACTIVITY_TIMEOUT = "INACTIVITY_TIMEOUT"
    MAX_DURATION_TIMEOUT = "MAX_DURATION_TIMEOUT"
    SILENCE_TIMEOUT = "SILENCE_TIMEOUT"
    ERROR = "ERROR"


class ChatStartType(StrEnum):
    """`WebhookEventChatStartType`."""

    NEW_CHAT_GROUP = "new_chat_group"
    RESUMED_CHAT_GROUP = "resumed_chat_group"


class WebhookEventBase(EviModel):
    chat_group_id: str
    chat_id: str
    config_id: str | None = None
    caller_number: str | None = None
    custom_session_id: str | None = None
    twilio_metadata: dict[str, str | None] | None = None


class WebhookEventChatStarted(WebhookEventBase):
    event_name: Literal["chat_started"] = "chat_started"
    chat_start_type: ChatStartType
    start_time: int


class WebhookEventChatEnded(WebhookEventBase):
    event_name: Literal["chat_ended"] = "chat_ended"
    duration_seconds: int
    end_reason: ChatStatus
    end_time: int


class WebhookEventToolCall(WebhookEventBase):
    event_name: Literal["tool_call"] = "tool_call"
    timestamp: int
    tool_call_message: ToolCallMessage


WebhookEvent = Annotated[
    WebhookEventChatStarted | WebhookEventChatEnded | WebhookEventToolCall,
    Field(discriminator="event_name"),
]
KNOWN_EVENT_NAMES = frozenset({"chat_started", "chat_ended", "tool_call"})

webhook_event_adapter: TypeAdapter[WebhookEvent] = TypeAdapter(WebhookEvent)
