"""evi-toolhost: run your own Python functions as tools inside Hume's Empathic Voice Interface (EVI).

Everything a handler author needs, from one place:

    from evi_toolhost import AssistantInput, ToolContext, ToolError, tool

    @tool(timeout=5, fallback="The weather service is down right now.")
    async def get_forecast(city: str, ctx: ToolContext) -> dict[str, object]:
        \"\"\"Tomorrow's forecast for a city.\"\"\"
        await ctx.send(AssistantInput(text="One moment."))
        ...

Tests: `evi_toolhost.testing` (and the `evi` pytest fixture). The names load on first use, so the command
line and the web process never import the worker tier for them.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from service.evi.messages import (
        AssistantInput,
        Context,
        ContextType,
        PauseAssistantMessage,
        PublishMessage,
        ResumeAssistantMessage,
        SessionSettings,
        UserInput,
    )
    from service.evi.webhooks import WebhookEventChatEnded, WebhookEventChatStarted
    from workers.handlers.context import ChatContext, ToolContext
    from workers.handlers.errors import ToolError
    from workers.handlers.registry import on_chat_ended, on_chat_started, tool
    from workers.handlers.results import ToolResult
    from workers.transcripts import TranscriptLine

__all__ = [
    "AssistantInput",
    "ChatContext",
    "Context",
    "ContextType",
    "PauseAssistantMessage",
    "PublishMessage",
    "ResumeAssistantMessage",
    "SessionSettings",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "TranscriptLine",
    "UserInput",
    "WebhookEventChatEnded",
    "WebhookEventChatStarted",
    "on_chat_ended",
    "on_chat_started",
    "tool",
]

_HOMES = {
    "AssistantInput": "service.evi.messages",
    "Context": "service.evi.messages",
    "ContextType": "service.evi.messages",
    "PauseAssistantMessage": "service.evi.messages",
    "PublishMessage": "service.evi.messages",
    "ResumeAssistantMessage": "service.evi.messages",
    "SessionSettings": "service.evi.messages",
    "UserInput": "service.evi.messages",
    "WebhookEventChatEnded": "service.evi.webhooks",
    "WebhookEventChatStarted": "service.evi.webhooks",
    "ChatContext": "workers.handlers.context",
    "ToolContext": "workers.handlers.context",
    "ToolError": "workers.handlers.errors",
    "on_chat_ended": "workers.handlers.registry",
    "on_chat_started": "workers.handlers.registry",
    "tool": "workers.handlers.registry",
    "ToolResult": "workers.handlers.results",
    "TranscriptLine": "workers.transcripts",
}


def __getattr__(name: str) -> _typing.Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'evi_toolhost' has no attribute {name!r}")
    from evi_toolhost.packages import check_packages

    check_packages()
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
