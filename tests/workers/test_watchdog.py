"""The deadline watchdog on fakeredis: a call past its deadline is answered `timeout` once, whoever else tries;
a job that vanished between queue and worker is queued again while its deadline allows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import fakeredis
from prometheus_client import REGISTRY

from service.evi.control_plane import RecordingControlPlane
from service.evi.webhooks import WebhookEventToolCall
from service.queue import contract
from service.queue.enqueue import Enqueuer
from tests.support.webhooks import tool_call_payload
from workers.delivery import Delivery
from workers.lost_jobs import REQUEUE_AFTER_MS
from workers.watchdog import SLACK_MS, Watchdog

T = TypeVar("T")
QUEUE = contract.rq_queue(contract.TOOLS_QUEUE)


class Rig:
    def __init__(self) -> None:
        self.server = fakeredis.FakeServer()
        self.sent = RecordingControlPlane()

    def redis(self) -> fakeredis.FakeAsyncRedis:
        return fakeredis.FakeAsyncRedis(server=self.server)

    def watchdog(self, fallback: str | None = None) -> Watchdog:
        redis = self.redis()
        delivery = Delivery(self.sent, redis, claim_ttl_seconds=60)
        return Watchdog(
            redis, delivery, fallback=lambda name: fallback, record_ttl_seconds=60, delivery_grace_seconds=1
        )

    async def call(self, *, overdue_ms: int = 0, timeout_s: float = 10, **payload: Any) -> str:
        """Queue a tool call as the intake does, its deadline `overdue_ms` ago (negative: still to come)."""
        triggered = int(time.time() * 1000) - int(timeout_s * 1000) - overdue_ms
        event = WebhookEventToolCall.model_validate(tool_call_payload(timestamp_ms=triggered, **payload))
        # The intake trusts EVI's timestamp only within 30 s of its clock; an older call counts from receipt.
        enqueuer = Enqueuer(
            self.redis(), claim_ttl_seconds=60, record_ttl_seconds=60, default_timeout_seconds=timeout_s
        )
        assert (await enqueuer.enqueue(event)).status == "queued"
        return event.tool_call_message.tool_call_id


def run(coro: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(coro())


async def settle(watchdog: Watchdog) -> None:
    while watchdog._answering:
        await asyncio.sleep(0.01)


def test_a_call_past_its_deadline_is_answered_timeout_with_its_fallback() -> None:
    rig = Rig()

    async def scenario() -> dict[bytes, bytes]:
        call_id = await rig.call(overdue_ms=SLACK_MS + 50, name="get_weather")
        watchdog = rig.watchdog(fallback="The weather service is down.")
        assert await watchdog.sweep() == 1
        await settle(watchdog)
        redis = rig.redis()
        assert await redis.zscore(contract.DEADLINES, call_id) is None
        record: dict[bytes, bytes] = await redis.hgetall(contract.call_record(call_id))
        return record

    record = run(scenario)
    (answer,) = rig.sent.messages("chat-1")
    assert (answer.type, answer.code, answer.content) == ("tool_error", "timeout", "The weather service is down.")  # type: ignore[union-attr]
    assert answer.error == "get_weather: its job never started"  # type: ignore[union-attr]
    assert record[b"status"] == b"timeout" and record[b"answered_by"] == b"watchdog"
    assert record[b"note"] == b"never_started"


def test_a_watchdog_answer_is_counted_once_with_why() -> None:
    rig = Rig()
    labels = {"tool": "watched_tool", "outcome": "timeout", "code": "timeout", "transport": "http"}
    before = REGISTRY.get_sample_value("evi_watchdog_answers_total", {"reason": "never_started"}) or 0

    async def scenario() -> None:
        await rig.call(overdue_ms=SLACK_MS + 50, name="watched_tool")
        watchdog = rig.watchdog()
        assert await watchdog.sweep() == 1
        await settle(watchdog)
        assert await watchdog.sweep() == 0

    run(scenario)
    assert REGISTRY.get_sample_value("evi_tool_calls_total", labels) == 1
    assert REGISTRY.get_sample_value("evi_watchdog_answers_total", {"reason": "never_started"}) == before + 1


def test_a_call_whose_chat_ended_is_owed_nothing_and_gets_nothing() -> None:
    rig = Rig()

    async def scenario() -> dict[bytes, bytes]:
        call_id = await rig.call(overdue_ms=SLACK_MS + 50, name="get_weather")
        redis = rig.redis()
        await redis.hset(contract.chat_record("chat-1"), "status", "ended")
        watchdog = rig.watchdog()
        assert await watchdog.sweep() == 1
        await settle(watchdog)
        assert await redis.zscore(contract.DEADLINES, call_id) is None
        record: dict[bytes, bytes] = await redis.hgetall(contract.call_record(call_id))
        return record

    record = run(scenario)
    assert rig.sent.messages() == []
    assert (record[b"status"], record[b"cancel_reason"]) == (b"cancelled", b"chat_ended")


def test_a_call_not_yet_past_its_deadline_and_slack_is_left_alone() -> None:
    rig = Rig()

    async def scenario() -> int:
        await rig.call(overdue_ms=SLACK_MS - 150)
        return await rig.watchdog().sweep()

    assert run(scenario) == 0
    assert rig.sent.sent == []


def test_the_fallback_workers_published_is_used_where_the_tool_is_not_loaded() -> None:
    rig = Rig()

    async def scenario() -> None:
        await rig.redis().hset(contract.TOOL_FALLBACKS, "get_weather", "Published fallback.")
        await rig.call(overdue_ms=SLACK_MS + 50, name="get_weather")
        watchdog = rig.watchdog(fallback=None)
        await watchdog.sweep()
        await settle(watchdog)

    run(scenario)
    assert [m.content for m in rig.sent.messages("chat-1")] == ["Published fallback."]  # type: ignore[union-attr]


def test_an_answered_call_is_taken_off_without_a_second_answer() -> None:
    rig = Rig()

    async def scenario() -> float | None:
        call_id = await rig.call(overdue_ms=SLACK_MS + 50)
        await rig.redis().set(contract.answered(call_id), "http")  # a worker answered, then died before ZREM
        watchdog = rig.watchdog()
        await watchdog.sweep()
        await settle(watchdog)
        score: float | None = await rig.redis().zscore(contract.DEADLINES, call_id)
        return score

    assert run(scenario) is None
    assert rig.sent.sent == []


def test_three_watchdogs_at_once_send_one_answer() -> None:
    rig = Rig()

    async def scenario() -> None:
        await rig.call(overdue_ms=SLACK_MS + 50)
        watchdogs = [rig.watchdog() for _ in range(3)]
        await asyncio.gather(*(watchdog.sweep() for watchdog in watchdogs))
        await asyncio.gather(*(settle(watchdog) for watchdog in watchdogs))

    run(scenario)
    assert len(rig.sent.messages("chat-1")) == 1


INTERMEDIATE = contract.rq_intermediate_queue(contract.TOOLS_QUEUE)


def lose_the_job(redis: fakeredis.FakeRedis, call_id: str, *, seen_ms_ago: int | None) -> str:
    """What a worker that died between pop and start leaves behind: the job id moved from the queue into RQ's
    intermediate list (first seen there by a watchdog `seen_ms_ago`, or not yet)."""
    job_id = contract.job_id("tool_call", call_id)
    assert redis.lmove(QUEUE, INTERMEDIATE, "LEFT", "RIGHT") == job_id.encode()
    if seen_ms_ago is not None:
        redis.hset(contract.POPPED_SINCE, job_id, int(time.time() * 1000) - seen_ms_ago)
    return job_id


def test_a_lost_job_is_queued_again_at_the_front_once() -> None:
    rig = Rig()
    sync = fakeredis.FakeRedis(server=rig.server)

    async def scenario() -> tuple[int, int]:
        call_id = await rig.call(overdue_ms=-5000)
        other = await rig.call(overdue_ms=-5000)
        job_id = lose_the_job(sync, call_id, seen_ms_ago=REQUEUE_AFTER_MS + 100)
        first = await rig.watchdog().requeue_lost()
        second = await rig.watchdog().requeue_lost()  # the same moment, another watchdog: not twice
        assert sync.lrange(QUEUE, 0, -1) == [job_id.encode(), contract.job_id("tool_call", other).encode()]
        assert sync.llen(INTERMEDIATE) == 0
        assert sync.hlen(contract.POPPED_SINCE) == 0
        return first, second

    assert run(scenario) == (1, 0)
