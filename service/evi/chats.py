"""Chat history: every event of one chat (`GET /v0/evi/chats/{id}`) or of one chat group (`GET
/v0/evi/chat_groups/{id}/events`), paged, oldest first."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from service.evi.control_plane import API_KEY_HEADER

MAX_PAGES = 1000


class ChatHistoryError(Exception):
    """Hume did not return the chat's events (a non-2xx answer or a body that is not a page)."""


async def fetch_chat_events(
    client: httpx.AsyncClient, base_url: str, api_key: str, chat_id: str, page_size: int = 100
) -> list[dict[str, Any]]:
    """All `return_chat_event` objects of the chat, in ascending order, following `total_pages`."""
    url = f"{base_url.rstrip('/')}/v0/evi/chats/{quote(chat_id, safe='')}"
    return await _every_page(client, url, api_key, f"chat {chat_id}", page_size)


async def fetch_chat_group_events(
    client: httpx.AsyncClient, base_url: str, api_key: str, chat_group_id: str, page_size: int = 100
) -> list[dict[str, Any]]:
    """All events of every chat of the group (each names its `chat_id`), in ascending order."""
    url = f"{base_url.rstrip('/')}/v0/evi/chat_groups/{quote(chat_group_id, safe='')}/events"
    return await _every_page(client, url, api_key, f"chat group {chat_group_id}", page_size)


async def _every_page(
    client: httpx.AsyncClient, url: str, api_key: str, what: str, page_size: int
) -> list[dict[str, Any]]:
    headers = {API_KEY_HEADER: api_key}
    events: list[dict[str, Any]] = []
    page_number = 0
    while True:
        params: dict[str, str | int] = {
            "page_number": page_number,
            "page_size": page_size,
            "ascending_order": "true",
        }
        response = await client.get(url, params=params, headers=headers)
        if response.status_code >= 300:
            raise ChatHistoryError(f"{what} page {page_number}: HTTP {response.status_code}")
        try:
            page = response.json()
            events.extend(page["events_page"])
            total_pages = int(page["total_pages"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ChatHistoryError(f"{what} page {page_number}: not a page of events ({exc!r})") from None
        page_number += 1
        if page_number >= min(total_pages, MAX_PAGES):
            return events
