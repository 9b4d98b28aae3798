"""A call's outcome: one HSET on the record the intake made (its TTL kept), its deadline entry taken off."""

from __future__ import annotations

import asyncio

import fakeredis

from service.queue import contract
from workers.records import finish_call


def test_the_outcome_keeps_the_intake_record_and_its_ttl(
    fake_redis: fakeredis.FakeRedis, fake_aredis: fakeredis.FakeAsyncRedis
) -> None:
    key = contract.call_record("toolu_r1")
    fake_redis.hset(key, mapping={"status": "queued", "name": "weather", "deadline_ms": 1})
    fake_redis.expire(key, 500)
    fake_redis.zadd(contract.DEADLINES, {"toolu_r1": 1})
    asyncio.run(finish_call(fake_aredis, "toolu_r1", 86400, {"status": "answered", "transport": "http"}, answered=True))
    assert fake_redis.hgetall(key) == {
        b"status": b"answered",
        b"name": b"weather",
        b"deadline_ms": b"1",
        b"transport": b"http",
    }
    assert 0 < fake_redis.ttl(key) <= 500
    assert fake_redis.zscore(contract.DEADLINES, "toolu_r1") is None


def test_a_record_written_from_nothing_gets_a_ttl(
    fake_redis: fakeredis.FakeRedis, fake_aredis: fakeredis.FakeAsyncRedis
) -> None:
    asyncio.run(finish_call(fake_aredis, "toolu_r2", 600, {"status": "answered", "error_code": None}, answered=True))
    key = contract.call_record("toolu_r2")
    assert fake_redis.hgetall(key) == {b"status": b"answered"}
    assert 0 < fake_redis.ttl(key) <= 600


def test_an_unanswered_call_stays_on_the_deadlines(
    fake_redis: fakeredis.FakeRedis, fake_aredis: fakeredis.FakeAsyncRedis
) -> None:
    fake_redis.zadd(contract.DEADLINES, {"toolu_r3": 5})
    asyncio.run(finish_call(fake_aredis, "toolu_r3", 600, {"status": "undeliverable"}, answered=False))
    assert fake_redis.zscore(contract.DEADLINES, "toolu_r3") == 5
