"""Reading the call log: the newest calls through the index, filtered page by page; following new calls as they
finish; the calls still owed an answer."""

from __future__ import annotations

import asyncio

import fakeredis

from service.call_log.query import CallQuery
from service.call_log.reading import PAGE, Follower, in_flight, read_call, recent
from service.queue import contract
from tests.service.call_log.seeding import seed

NOW = 1_800_000_000_000


def ids(listing: object) -> list[str]:
    return [call_id for call_id, _ in listing.calls]  # type: ignore[attr-defined]


def test_the_newest_first_filtered_and_limited(
    fake_redis: fakeredis.FakeRedis, fake_aredis: fakeredis.FakeAsyncRedis
) -> None:
    for index in range(10):
        name = "pay" if index % 3 == 0 else "lookup_order"
        seed(fake_redis, f"c{index}", NOW + index, name=name, status="failed" if index == 6 else "answered")
    fake_redis.zadd(contract.CALL_LOG, {"expired": NOW + 20})  # its record is gone: left out
    assert ids(asyncio.run(recent(fake_aredis, CallQuery(limit=3)))) == ["c9", "c8", "c7"]
    assert ids(asyncio.run(recent(fake_aredis, CallQuery(tool="pay", limit=10)))) == ["c9", "c6", "c3", "c0"]
    assert ids(asyncio.run(recent(fake_aredis, CallQuery(status="failed")))) == ["c6"]
    assert ids(asyncio.run(recent(fake_aredis, CallQuery(since_ms=NOW + 8)))) == ["c9", "c8"]
    assert ids(asyncio.run(recent(fake_aredis, CallQuery(chat="other")))) == []
    (_, record), = asyncio.run(recent(fake_aredis, CallQuery(limit=1), fields=("name",))).calls
    assert record == {"name": "pay"}
    assert asyncio.run(read_call(fake_aredis, "c1"))["name"] == "lookup_order"  # type: ignore[index]
    assert asyncio.run(read_call(fake_aredis, "nothing")) is None


def test_a_rare_filter_is_searched_page_by_page_and_bounded(
    fake_redis: fakeredis.FakeRedis, fake_aredis: fakeredis.FakeAsyncRedis
) -> None:
    seed(fake_redis, "rare", NOW, name="rare")
    for index in range(PAGE + 50):
        seed(fake_redis, f"c{index}", NOW + 1 + index)
    found = asyncio.run(recent(fake_aredis, CallQuery(tool="rare")))
    assert (ids(found), found.scanned, found.complete) == (["rare"], PAGE + 51, True)
    bounded = asyncio.run(recent(fake_aredis, CallQuery(tool="rare"), max_scanned=100))
    assert (ids(bounded), bounded.scanned, bounded.complete) == ([], 100, False)


def test_following_gives_each_new_call_once_when_it_is_final(
    fake_redis: fakeredis.FakeRedis, fake_aredis: fakeredis.FakeAsyncRedis
) -> None:
    seed(fake_redis, "before", NOW - 10)
    follower = Follower(CallQuery(tool="lookup_order"))
    assert asyncio.run(follower.poll(fake_aredis, NOW)) == []
    seed(fake_redis, "running", NOW + 1, status="running")
    seed(fake_redis, "late-arrival", NOW - 5_000)  # triggered before we started following, reached us after
    seed(fake_redis, "other-tool", NOW + 2, name="pay")
    assert [c for c, _ in asyncio.run(follower.poll(fake_aredis, NOW + 100))] == ["late-arrival"]
    fake_redis.hset(contract.call_record("running"), mapping={"status": "answered", "answered_ms": NOW + 300})
    assert [c for c, _ in asyncio.run(follower.poll(fake_aredis, NOW + 400))] == ["running"]
    assert asyncio.run(follower.poll(fake_aredis, NOW + 500)) == []


def test_in_flight_is_what_is_owed_an_answer_by_deadline(fake_aredis: fakeredis.FakeAsyncRedis) -> None:
    asyncio.run(fake_aredis.zadd(contract.DEADLINES, {"late": NOW + 900, "soon": NOW + 100, "later": NOW + 5000}))
    assert asyncio.run(in_flight(fake_aredis, limit=2)) == (3, [("soon", NOW + 100), ("late", NOW + 900)])


def test_a_call_stopped_by_its_chat_s_end_or_an_interruption_is_final_and_followed(
    fake_redis: fakeredis.FakeRedis, fake_aredis: fakeredis.FakeAsyncRedis
) -> None:
    follower = Follower(CallQuery())
    assert asyncio.run(follower.poll(fake_aredis, NOW)) == []
    seed(fake_redis, "interrupted", NOW + 1, status="cancelled", error_code="cancelled")
    seed(fake_redis, "finished-late", NOW + 2, status="chat_ended")
    assert {c for c, _ in asyncio.run(follower.poll(fake_aredis, NOW + 100))} == {"interrupted", "finished-late"}
    assert ids(asyncio.run(recent(fake_aredis, CallQuery(status="cancelled")))) == ["interrupted"]
