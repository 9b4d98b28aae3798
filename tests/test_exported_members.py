"""The user surface, pinned as httpx pins its own: `__all__` is exactly the public names each module exports,
and the handler API is the same objects whichever package it is imported from."""

from __future__ import annotations

from types import ModuleType

import pytest

import evi_toolhost
import evi_toolhost.testing
import workers

SURFACE = [
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
HANDLER_API = [
    "ChatContext",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "TranscriptLine",
    "on_chat_ended",
    "on_chat_started",
    "tool",
]


def public_names(module: ModuleType) -> list[str]:
    return sorted(
        name for name in dir(module) if not name.startswith("_") and not isinstance(getattr(module, name), ModuleType)
    )


def test_the_surface_is_what_it_was_decided_to_be() -> None:
    assert sorted(evi_toolhost.__all__) == SURFACE
    assert sorted(workers.__all__) == HANDLER_API
    testing = ["BackgroundResult", "CallResult", "Delivered", "ToolKit", "call_tool"]
    assert sorted(evi_toolhost.testing.__all__) == testing


@pytest.mark.parametrize("module", [evi_toolhost, workers, evi_toolhost.testing], ids=lambda m: m.__name__)
def test_all_is_every_public_name_exported(module: ModuleType) -> None:
    assert sorted(module.__all__) == public_names(module)


@pytest.mark.parametrize("name", HANDLER_API)
def test_workers_exports_the_same_objects(name: str) -> None:
    assert getattr(evi_toolhost, name) is getattr(workers, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'tools'"):
        evi_toolhost.tools  # noqa: B018
