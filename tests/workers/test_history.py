"""`ctx.history()`: the earlier chats of a resumed chat's group, from Hume's chat-group events, cached."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from redis import Redis

from service.queue import contract
from workers import history
from workers.runtime import Runtime
from workers.transcripts import TranscriptLine

T0 = 1_767_000_000_000
EVENTS = [
    {"chat_id": "chat-old", "type": "USER_MESSAGE", "message_text": "A table on Friday.", "timestamp": T0 + 1_000},
    {"chat_id": "chat-old", "type": "FUNCTION_CALL", "message_text": "{}", "timestamp": T0 + 1_100},
    {"chat_id": "chat-old", "type": "AGENT_MESSAGE", "message_text": "For how many?", "timestamp": T0 + 1_200},
    {"chat_id": "chat-now", "type": "USER_MESSAGE", "message_text": "I'm back.", "timestamp": T0 + 9_000},
]


def group_api(requests: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    """Hume's chat-group events, two events a page."""

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        assert request.url.path == "/v0/evi/chat_groups/group-1/events"
        page = int(request.url.params["page_number"])
        body = {"events_page": EVENTS[page * 2 : page * 2 + 2], "total_pages": 2, "page_number": page}
        return httpx.Response(200, json=body)

    return answer


def test_a_resumed_chat_reads_the_earlier_chats_once_then_from_the_cache(
    make_runtime: Callable[..., Runtime], fake_redis: Redis
) -> None:
    requests: list[httpx.Request] = []
    runtime = make_runtime(http_handler=group_api(requests))
    fake_redis.hset(contract.chat_record("chat-now"), "chat_start_type", "resumed_chat_group")
    earlier = [
        TranscriptLine("user", "A table on Friday.", T0 + 1_000),
        TranscriptLine("assistant", "For how many?", T0 + 1_200),
    ]
    assert runtime.run(history.earlier_chats(runtime, "chat-now", "group-1")) == earlier
    assert runtime.run(history.earlier_chats(runtime, "chat-now", "group-1")) == earlier
    assert len(requests) == 2, "two pages, fetched once"
    assert requests[0].headers["X-Hume-Api-Key"] == runtime.settings.hume_api_key.get_secret_value()
    history.forget(fake_redis, "group-1")
    assert fake_redis.get(contract.group_history("group-1")) is None


def test_a_chat_that_started_its_group_has_no_history_and_asks_nothing(
    runtime: Runtime, fake_redis: Redis
) -> None:
    fake_redis.hset(contract.chat_record("chat-new"), "chat_start_type", "new_chat_group")
    assert runtime.run(history.earlier_chats(runtime, "chat-new", "group-new")) == []
