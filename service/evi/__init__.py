"""The Hume EVI protocol: message and webhook models, webhook signing, and the API clients."""

from service.evi.messages import (
    AssistantInput,
    PauseAssistantMessage,
    PublishMessage,
    ResumeAssistantMessage,
    SessionSettings,
    ToolCallMessage,
    ToolErrorMessage,
    ToolResponseMessage,
    ToolType,
    UserInput,
    dump_message,
    publish_message_adapter,
)
from service.evi.signing import SignatureError, sign, verify
from service.evi.webhooks import (
    KNOWN_EVENT_NAMES,
    ChatStartType,
    ChatStatus,
    WebhookEvent,
    WebhookEventChatEnded,
    WebhookEventChatStarted,
    WebhookEventToolCall,
    webhook_event_adapter,
)

__all__ = [
    "KNOWN_EVENT_NAMES",
    "AssistantInput",
    "ChatStartType",
    "ChatStatus",
    "PauseAssistantMessage",
    "PublishMessage",
    "ResumeAssistantMessage",
    "SessionSettings",
    "SignatureError",
    "ToolCallMessage",
    "ToolErrorMessage",
    "ToolResponseMessage",
    "ToolType",
    "UserInput",
    "WebhookEvent",
    "WebhookEventChatEnded",
    "WebhookEventChatStarted",
    "WebhookEventToolCall",
    "dump_message",
    "publish_message_adapter",
    "sign",
    "verify",
    "webhook_event_adapter",
]
