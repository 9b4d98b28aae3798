"""Chat history paging, and turning its events into a transcript."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from service.evi.chats import ChatHistoryError, fetch_chat_events, fetch_chat_group_events
from tests.conftest import TEST_API_KEY
from workers.transcripts import TranscriptLine, transcript_from_events


def history(events: list[dict[str, Any]], seen: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        size = int(request.url.params["page_size"])
        number = int(request.url.params["page_number"])
        pages = max(1, -(-len(events) // size))
        return httpx.Response(
            200,
            json={
                "id": "chat-1",
                "chat_group_id": "g",
                "status": "USER_ENDED",
                "start_timestamp": 1,
                "pagination_direction": "ASC",
                "page_number": number,
                "page_size": size,
                "total_pages": pages,
                "events_page": events[number * size : (number + 1) * size],
            },
        )

    return httpx.MockTransport(handle)


def fetch(transport: httpx.MockTransport, page_size: int = 100) -> list[dict[str, Any]]:
    async def go() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(transport=transport) as client:
            return await fetch_chat_events(client, "https://hume.test", TEST_API_KEY, "chat-1", page_size=page_size)

    return asyncio.run(go())


def test_every_page_is_fetched_in_order() -> None:
    events = [{"id": str(i), "type": "USER_MESSAGE", "message_text": f"m{i}", "timestamp": i} for i in range(25)]
    seen: list[httpx.Request] = []
    assert fetch(history(events, seen), page_size=10) == events
    assert [r.url.params["page_number"] for r in seen] == ["0", "1", "2"]
    assert all(r.url.params["ascending_order"] == "true" for r in seen)
    assert all(r.headers["X-Hume-Api-Key"] == TEST_API_KEY for r in seen)
    assert seen[0].url.path == "/v0/evi/chats/chat-1"


def test_a_chat_group_s_events_are_every_page_of_its_own_route() -> None:
    events = [{"chat_id": f"chat-{i // 5}", "type": "USER_MESSAGE", "message_text": f"m{i}"} for i in range(12)]
    seen: list[httpx.Request] = []

    async def go() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(transport=history(events, seen)) as client:
            return await fetch_chat_group_events(client, "https://hume.test/", TEST_API_KEY, "group 1", page_size=5)

    assert asyncio.run(go()) == events
    assert [r.url.params["page_number"] for r in seen] == ["0", "1", "2"]
    assert seen[0].url.raw_path.startswith(b"/v0/evi/chat_groups/group%201/events?")


def test_an_empty_chat_is_one_request() -> None:
    seen: list[httpx.Request] = []
    assert fetch(history([], seen)) == []
    assert len(seen) == 1


def test_errors_are_raised_without_the_key() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(500, text="boom"))
    with pytest.raises(ChatHistoryError, match="HTTP 500") as info:
        fetch(transport)
    assert TEST_API_KEY not in str(info.value)


def test_transcript_keeps_messages_in_order_and_skips_the_rest() -> None:
    events = [
        {"type": "CHAT_START_MESSAGE", "message_text": None, "timestamp": 1},
        {"type": "USER_MESSAGE", "role": "USER", "message_text": "Weather in Paris?", "timestamp": 1_795_000_000_100},
        {"type": "FUNCTION_CALL", "message_text": '{"city":"Paris"}', "timestamp": 1_795_000_000_200},
        {"type": "AGENT_MESSAGE", "role": "AGENT", "message_text": "Sunny.", "timestamp": 1_795_000_000},
        {"type": "USER_INTERRUPTION", "timestamp": 1_795_000_000_400},
    ]
    assert transcript_from_events(events) == [
        TranscriptLine("user", "Weather in Paris?", 1_795_000_000_100),
        TranscriptLine("assistant", "Sunny.", 1_795_000_000_000),  # seconds (as documented) become ms
    ]
