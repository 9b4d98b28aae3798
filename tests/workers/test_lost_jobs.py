"""Jobs lost between pop and start, on fakeredis with the worker's Lua: wherever RQ's pop left them (its
intermediate list, or, popped with BLPOP from several queues, no list at all), they are queued again once, after
two sightings, while their call's deadline allows; a job waiting its turn or already started is left alone."""

from __future__ import annotations

import asyncio
import time
from typing import Literal

import fakeredis
import pytest

from service.evi.webhooks import WebhookEventToolCall
from service.queue import contract
from service.queue.enqueue import Enqueuer
from tests.support.webhooks import tool_call_payload
from workers.lost_jobs import MIN_REQUEUE_BUDGET_MS, REQUEUE_AFTER_MS, LostJobs

QUEUE = contract.rq_queue(contract.TOOLS_QUEUE)
INTERMEDIATE = contract.rq_intermediate_queue(contract.TOOLS_QUEUE)
Where = Literal["intermediate", "nowhere"]


class Queued:
    """Tool calls queued as the intake queues them, and the watchdogs' view of them."""

    def __init__(self) -> None:
        self.server = fakeredis.FakeServer()
        self.redis = fakeredis.FakeRedis(server=self.server)
        self.lost = LostJobs(fakeredis.FakeAsyncRedis(server=self.server))
        self.now = int(time.time() * 1000)

    def call(self, *, due_in_ms: int = 5000) -> str:
        timeout_s = 10.0
        triggered = self.now - int(timeout_s * 1000) + due_in_ms
        event = WebhookEventToolCall.model_validate(tool_call_payload(timestamp_ms=triggered))
        enqueuer = Enqueuer(
            fakeredis.FakeAsyncRedis(server=self.server),
            claim_ttl_seconds=60,
            record_ttl_seconds=60,
            default_timeout_seconds=timeout_s,
        )
        assert asyncio.run(enqueuer.enqueue(event)).status == "queued"
        return event.tool_call_message.tool_call_id

    def pop(self, where: Where) -> str:
        """What a worker that pops the next job and dies before starting it leaves behind."""
        if where == "intermediate":  # a worker on one queue: RQ's BLMOVE
            popped = self.redis.lmove(QUEUE, INTERMEDIATE, "LEFT", "RIGHT")
        else:  # a worker on several queues: RQ's BLPOP keeps no copy
            popped = self.redis.lpop(QUEUE)
        assert isinstance(popped, bytes)
        return popped.decode()

    def sweep(self, after_ms: int = 0, *, same_turn: bool = False) -> list[str]:
        """A watchdog's look, `after_ms` after the last one (in a turn of its own unless `same_turn`)."""
        self.now += after_ms
        if not same_turn:
            self.redis.delete(contract.LOST_JOBS_TURN)
        return asyncio.run(self.lost.requeue(self.now))

    def queue(self) -> list[str]:
        return [job.decode() for job in self.redis.lrange(QUEUE, 0, -1)]


@pytest.mark.parametrize("where", ["intermediate", "nowhere"])
def test_a_lost_job_is_queued_again_once_after_two_sightings(where: Where) -> None:
    jobs = Queued()
    jobs.call()
    lost = jobs.pop(where)
    assert jobs.sweep() == []  # first seen
    assert jobs.sweep(after_ms=REQUEUE_AFTER_MS - 100) == []
    assert jobs.sweep(after_ms=200) == [lost]
    assert jobs.sweep() == []  # another watchdog's look a moment later: not twice
    assert jobs.queue() == [lost]
    assert jobs.redis.llen(INTERMEDIATE) == 0
    assert jobs.redis.hlen(contract.POPPED_SINCE) == 0


@pytest.mark.parametrize("where", ["intermediate", "nowhere"])
def test_a_job_that_starts_between_sightings_is_left_to_its_worker(where: Where) -> None:
    jobs = Queued()
    call_id = jobs.call()
    job_id = jobs.pop(where)
    assert jobs.sweep() == []
    if where == "intermediate":
        jobs.redis.lrem(INTERMEDIATE, 0, job_id)  # RQ takes it out as the job starts
    jobs.redis.set(contract.run_claim(call_id), "its worker")
    assert jobs.sweep(after_ms=REQUEUE_AFTER_MS + 100) == []
    assert jobs.queue() == []
    assert jobs.redis.hlen(contract.POPPED_SINCE) == 0


@pytest.mark.parametrize("where", ["intermediate", "nowhere"])
def test_a_lost_job_too_close_to_its_deadline_is_left_to_the_timeout_answer(where: Where) -> None:
    jobs = Queued()
    jobs.call(due_in_ms=REQUEUE_AFTER_MS + 100 + MIN_REQUEUE_BUDGET_MS - 300)  # 0.7 s left at the second sighting
    jobs.pop(where)
    assert jobs.sweep() == []
    assert jobs.sweep(after_ms=REQUEUE_AFTER_MS + 100) == []
    assert jobs.queue() == []


def test_a_backlog_waiting_its_turn_is_left_alone() -> None:
    jobs = Queued()
    for _ in range(20):
        jobs.call()
    assert jobs.sweep() == []
    assert jobs.sweep(after_ms=REQUEUE_AFTER_MS + 100) == []
    assert len(jobs.queue()) == 20
    assert jobs.redis.hlen(contract.POPPED_SINCE) == 0


def test_a_job_whose_hash_is_gone_cannot_run_again_and_is_left_to_the_timeout_answer() -> None:
    jobs = Queued()
    jobs.call()
    job_id = jobs.pop("nowhere")
    jobs.redis.delete(contract.rq_job(job_id))
    assert jobs.sweep() == []
    assert jobs.sweep(after_ms=REQUEUE_AFTER_MS + 100) == []
    assert jobs.queue() == []


def test_while_jobs_wait_in_the_queue_no_call_is_taken_for_lost() -> None:
    jobs = Queued()
    jobs.call()
    jobs.pop("nowhere")
    jobs.call()  # waiting its turn: the popped one might be any of them
    assert jobs.sweep() == []
    assert jobs.sweep(after_ms=REQUEUE_AFTER_MS + 100) == []
    assert len(jobs.queue()) == 1


def test_one_look_a_turn_whichever_watchdog_asks() -> None:
    jobs = Queued()
    jobs.call()
    lost = jobs.pop("intermediate")
    assert jobs.sweep() == []
    assert jobs.sweep(after_ms=REQUEUE_AFTER_MS + 100, same_turn=True) == []  # the turn taken at the first look
    assert jobs.sweep() == [lost]
