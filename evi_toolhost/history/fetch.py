"""The chats and their events, from Hume's REST API (`/v0/evi/chats`, `/v0/evi/chat_groups`), every page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.evi.management import HumeManagementClient, segment

EVENT_ORDER = {"ascending_order": "true"}


@dataclass(frozen=True)
class ChatHistory:
    chat: dict[str, Any]
    """The chat's own fields (`return_chat_paged_events` without the page): id, chat_group_id, status, times."""
    events: list[dict[str, Any]]
    """Every `return_chat_event`, oldest first."""


def recent_chats(client: HumeManagementClient, limit: int) -> list[dict[str, Any]]:
    """The `limit` most recent chats (`return_chat`), newest first."""
    page = client.get("/v0/evi/chats", {"page_number": "0", "page_size": str(limit), "ascending_order": "false"})
    chats: list[dict[str, Any]] = page.get("chats_page") or []
    return chats


def chat_history(client: HumeManagementClient, chat_id: str) -> ChatHistory:
    path = f"/v0/evi/chats/{segment(chat_id)}"
    first = client.get(path, {**EVENT_ORDER, "page_size": "1"})
    head = {key: value for key, value in first.items() if key not in ("events_page", "page_number", "page_size")}
    return ChatHistory(head, client.pages(path, "events_page", EVENT_ORDER))


def group_chats(client: HumeManagementClient, group_id: str) -> list[dict[str, Any]]:
    """The group's chats (`return_chat`), oldest first."""
    return client.pages(f"/v0/evi/chat_groups/{segment(group_id)}", "chats_page", EVENT_ORDER)


def group_events(client: HumeManagementClient, group_id: str) -> list[dict[str, Any]]:
    return client.pages(f"/v0/evi/chat_groups/{segment(group_id)}/events", "events_page", EVENT_ORDER)
