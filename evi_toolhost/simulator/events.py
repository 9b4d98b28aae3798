"""What a chat emits: socket messages in the AsyncAPI shapes, and history events (`return_chat_event`).

History conventions (Hume documents the types and roles, not the text of each):
USER_MESSAGE / AGENT_MESSAGE carry the spoken text, and when spoken (not typed) the prosody scores as
`emotion_features`; FUNCTION_CALL and FUNCTION_CALL_RESPONSE carry the tool message itself as JSON text;
SESSION_SETTINGS carries the settings as JSON text.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from service.evi.messages import (
    AssistantInput,
    PauseAssistantMessage,
    PublishMessage,
    ResumeAssistantMessage,
    SessionSettings,
    ToolCallMessage,
    ToolErrorMessage,
    ToolResponseMessage,
    UserInput,
    dump_message,
)


class EventType(StrEnum):
    """`ReturnChatEventType` (the ones the simulator produces)."""

    USER_MESSAGE = "USER_MESSAGE"
    AGENT_MESSAGE = "AGENT_MESSAGE"
    FUNCTION_CALL = "FUNCTION_CALL"
    FUNCTION_CALL_RESPONSE = "FUNCTION_CALL_RESPONSE"
    SESSION_SETTINGS = "SESSION_SETTINGS"
    PAUSE_ONSET = "PAUSE_ONSET"
    RESUME_ONSET = "RESUME_ONSET"
    USER_INTERRUPTION = "USER_INTERRUPTION"


class Role(StrEnum):
    """`ReturnChatEventRole`."""

    USER = "USER"
    AGENT = "AGENT"
    SYSTEM = "SYSTEM"
    TOOL = "TOOL"


@dataclass(frozen=True)
class HistoryEntry:
    """A history event before it gets its id, chat and time."""

    type: EventType
    role: Role
    message_text: str | None = None
    emotion_features: str | None = None


@dataclass(frozen=True)
class ChatEvent:
    """One row of a chat's history; `sequence` orders events across the chats of a group."""

    id: str
    chat_id: str
    sequence: int
    timestamp: int
    type: EventType
    role: Role
    message_text: str | None = None
    metadata: str | None = None
    emotion_features: str | None = None
    related_event_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "chat_id": self.chat_id,
            "timestamp": self.timestamp,
            "role": self.role.value,
            "type": self.type.value,
            "message_text": self.message_text,
            "emotion_features": self.emotion_features,
            "metadata": self.metadata,
            "related_event_id": self.related_event_id,
        }


def _with_session(message: dict[str, Any], custom_session_id: str | None) -> dict[str, Any]:
    if custom_session_id is not None:
        message["custom_session_id"] = custom_session_id
    return message


def chat_metadata(chat_id: str, chat_group_id: str, custom_session_id: str | None = None) -> dict[str, Any]:
    message = {
        "type": "chat_metadata",
        "chat_id": chat_id,
        "chat_group_id": chat_group_id,
        "request_id": uuid.uuid4().hex,
    }
    return _with_session(message, custom_session_id)


def user_message(
    text: str, *, from_text: bool, begin_ms: int, end_ms: int, custom_session_id: str | None = None
) -> dict[str, Any]:
    message = {
        "type": "user_message",
        "message": {"role": "user", "content": text},
        "models": {},
        "from_text": from_text,
        "interim": False,
        "time": {"begin": begin_ms, "end": end_ms},
    }
    return _with_session(message, custom_session_id)


def assistant_message(text: str, *, from_text: bool, custom_session_id: str | None = None) -> dict[str, Any]:
    message = {
        "type": "assistant_message",
        "id": uuid.uuid4().hex,
        "message": {"role": "assistant", "content": text},
        "models": {},
        "from_text": from_text,
        "is_quick_response": False,
    }
    return _with_session(message, custom_session_id)


def assistant_end(custom_session_id: str | None = None) -> dict[str, Any]:
    return _with_session({"type": "assistant_end"}, custom_session_id)


def user_interruption(time_ms: int, custom_session_id: str | None = None) -> dict[str, Any]:
    """`UserInterruption`: the user spoke over EVI; `time` as a Unix timestamp (ms, as Hume's other times)."""
    return _with_session({"type": "user_interruption", "time": time_ms}, custom_session_id)


def tool_call(message: ToolCallMessage) -> dict[str, Any]:
    return dump_message(message)


def socket_error(code: str, slug: str, text: str) -> dict[str, Any]:
    """`WebSocketError`; codes as on Hume's errors page (E0100 not JSON, E0101 invalid message)."""
    return {"type": "error", "code": code, "slug": slug, "message": text, "request_id": uuid.uuid4().hex}


def tool_call_entry(message: ToolCallMessage) -> HistoryEntry:
    return HistoryEntry(EventType.FUNCTION_CALL, Role.AGENT, json.dumps(dump_message(message)))


def effects_of_publish(
    message: PublishMessage, *, elapsed_ms: int, custom_session_id: str | None
) -> tuple[HistoryEntry, list[dict[str, Any]]]:
    """What a control-plane message adds to the history, and what the chat's sockets then see."""
    session = message.custom_session_id or custom_session_id
    if isinstance(message, ToolResponseMessage | ToolErrorMessage):
        as_json = dump_message(message)
        return HistoryEntry(EventType.FUNCTION_CALL_RESPONSE, Role.TOOL, json.dumps(as_json)), [as_json]
    if isinstance(message, UserInput):
        said = user_message(
            message.text, from_text=True, begin_ms=elapsed_ms, end_ms=elapsed_ms, custom_session_id=session
        )
        return HistoryEntry(EventType.USER_MESSAGE, Role.USER, message.text), [said]
    if isinstance(message, AssistantInput):
        said = assistant_message(message.text, from_text=True, custom_session_id=session)
        return HistoryEntry(EventType.AGENT_MESSAGE, Role.AGENT, message.text), [said, assistant_end(session)]
    if isinstance(message, SessionSettings):
        settings = dump_message(message)
        settings.pop("language_model_api_key", None)  # a secret: never kept in history
        return HistoryEntry(EventType.SESSION_SETTINGS, Role.SYSTEM, json.dumps(settings)), []
    if isinstance(message, PauseAssistantMessage):
        return HistoryEntry(EventType.PAUSE_ONSET, Role.SYSTEM), []
    assert isinstance(message, ResumeAssistantMessage)
    return HistoryEntry(EventType.RESUME_ONSET, Role.SYSTEM), []
