"""Control-plane messages: the tool call EVI sends and the seven messages we may publish to a chat.

Field names, types, nullability and enums follow `components/schemas` of Hume's EVI OpenAPI spec.
Unknown extra fields are kept, so a field Hume adds tomorrow is carried through, not rejected.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class EviModel(BaseModel):
    model_config = ConfigDict(extra="allow")


class ToolType(StrEnum):
    BUILTIN = "builtin"
    FUNCTION = "function"


class ContextType(StrEnum):
    PERSISTENT = "persistent"
    TEMPORARY = "temporary"


class Encoding(StrEnum):
    LINEAR16 = "linear16"


class BuiltInTool(StrEnum):
    WEB_SEARCH = "web_search"
    HANG_UP = "hang_up"


class ErrorLevel(StrEnum):
    WARN = "warn"


class ToolCallMessage(EviModel):
    """EVI asks for a tool to run; `parameters` is a JSON string, not an object."""

    custom_session_id: str | None = None
    name: str
    parameters: str
    response_required: bool
    tool_call_id: str
    tool_type: ToolType
    type: Literal["tool_call"] = "tool_call"


class AudioConfiguration(EviModel):
    channels: int
    codec: str | None = None
    encoding: Encoding
    sample_rate: int


class BuiltinToolConfig(EviModel):
    fallback_content: str | None = None
    name: BuiltInTool


class Context(EviModel):
    text: str
    type: ContextType | None = None


class Tool(EviModel):
    description: str | None = None
    fallback_content: str | None = None
    name: str
    parameters: str
    type: ToolType


class SessionSettings(EviModel):
    type: Literal["session_settings"] = "session_settings"
    audio: AudioConfiguration | None = None
    builtin_tools: list[BuiltinToolConfig] | None = None
    context: Context | None = None
    custom_session_id: str | None = None
    language_model_api_key: str | None = None
    metadata: dict[str, Any] | None = None
    system_prompt: str | None = None
    tools: list[Tool] | None = None
    variables: dict[str, Any] | None = None
    voice_id: str | None = None


class UserInput(EviModel):
    type: Literal["user_input"] = "user_input"
    custom_session_id: str | None = None
    text: str


class AssistantInput(EviModel):
    type: Literal["assistant_input"] = "assistant_input"
    custom_session_id: str | None = None
    text: str


class ToolResponseMessage(EviModel):
    type: Literal["tool_response"] = "tool_response"
    content: str
    custom_session_id: str | None = None
    tool_call_id: str
    tool_name: str | None = None
    tool_type: ToolType | None = None


class ToolErrorMessage(EviModel):
    type: Literal["tool_error"] = "tool_error"
    code: str | None = None
    content: str | None = None
    custom_session_id: str | None = None
    error: str
    level: ErrorLevel | None = None
    tool_call_id: str
    tool_type: ToolType | None = None


class PauseAssistantMessage(EviModel):
    type: Literal["pause_assistant_message"] = "pause_assistant_message"
    custom_session_id: str | None = None


class ResumeAssistantMessage(EviModel):
    type: Literal["resume_assistant_message"] = "resume_assistant_message"
    custom_session_id: str | None = None


PublishMessage = Annotated[
    SessionSettings
    | UserInput
    | AssistantInput
    | ToolResponseMessage
    | ToolErrorMessage
    | PauseAssistantMessage
    | ResumeAssistantMessage,
    Field(discriminator="type"),
]
"""`ControlPlanePublishEvent`: what the control plane accepts by HTTP send or on the socket."""

publish_message_adapter: TypeAdapter[PublishMessage] = TypeAdapter(PublishMessage)


def dump_message(message: BaseModel) -> dict[str, Any]:
    """The JSON body Hume expects: nulls left out, extra fields kept."""
    return message.model_dump(mode="json", exclude_none=True)
