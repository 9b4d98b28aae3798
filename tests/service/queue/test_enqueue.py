"""The intake's script, for the call log: each call listed in `evi:calls` by trigger time (entries older than the
records' TTL trimmed as it goes), and a duplicate delivery counted in the call's record."""

from __future__ import annotations

import asyncio
import time

import fakeredis
import pytest
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from service.evi.webhooks import webhook_event_adapter
from service.queue import contract
from service.queue.enqueue import Enqueuer
from tests.support.webhooks import chat_started_payload, tool_call_payload

TTL = 3600


def enqueue(aredis: AsyncRedis, payload: dict[str, object]) -> str:
    async def run() -> str:
        enqueuer = Enqueuer(aredis, claim_ttl_seconds=600, record_ttl_seconds=TTL, default_timeout_seconds=10)
        return (await enqueuer.enqueue(webhook_event_adapter.validate_python(payload))).status

    return asyncio.run(run())


@pytest.fixture(params=["fakeredis", "redis-server"])
def both(request: pytest.FixtureRequest) -> tuple[Redis, AsyncRedis]:
    """fakeredis's Lua, and a real Redis's (Lua 5.1: numbers print differently)."""
    if request.param == "fakeredis":
        return request.getfixturevalue("fake_redis"), request.getfixturevalue("fake_aredis")
    url = request.getfixturevalue("redis_url")
    return request.getfixturevalue("real_redis"), AsyncRedis.from_url(url)


def test_each_call_is_listed_by_trigger_time_and_old_entries_are_trimmed(both: tuple[Redis, AsyncRedis]) -> None:
    redis, aredis = both
    now = int(time.time() * 1000)
    redis.zadd(contract.CALL_LOG, {"toolu_expired": now - TTL * 1000 - 1000, "toolu_kept": now - TTL * 1000 + 5000})
    assert enqueue(aredis, tool_call_payload(tool_call_id="toolu_new", timestamp_ms=now - 250)) == "queued"
    assert redis.zrange(contract.CALL_LOG, 0, -1, withscores=True) == [
        (b"toolu_kept", now - TTL * 1000 + 5000),
        (b"toolu_new", now - 250),
    ]


def test_a_duplicate_delivery_is_counted_in_the_call_s_record(
    fake_redis: fakeredis.FakeRedis, fake_aredis: fakeredis.FakeAsyncRedis
) -> None:
    payload = tool_call_payload(tool_call_id="toolu_twice")
    assert [enqueue(fake_aredis, payload) for _ in range(3)] == ["queued", "duplicate", "duplicate"]
    assert fake_redis.hget(contract.call_record("toolu_twice"), "dedupe_hits") == b"2"
    assert fake_redis.zcard(contract.CALL_LOG) == 1


def test_events_without_an_owed_answer_make_no_record_and_no_entry(
    fake_redis: fakeredis.FakeRedis, fake_aredis: fakeredis.FakeAsyncRedis
) -> None:
    builtin = tool_call_payload(tool_call_id="toolu_builtin", response_required=False)
    for payload in (chat_started_payload("chat-1"), chat_started_payload("chat-1"), builtin, builtin):
        enqueue(fake_aredis, payload)
    assert fake_redis.zcard(contract.CALL_LOG) == 0
    assert fake_redis.keys("evi:call:*") == []
