"""Every acknowledged call answered exactly once by its deadline, with parts failing: the control plane
refusing for a while, a job lost between queue and worker, a handler blocking its loop, a worker killed.

Real processes: web, a relay (whose watchdog keeps deadlines when no worker runs), workers started per test,
the simulator as Hume, on a real Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from rq.job import Job

from evi_toolhost.embedded_redis import EmbeddedRedis
from service.queue import contract
from tests.support.servers import wait_for
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration

TOOL_MODULES = "examples.weather,tests.integration.tools"
QUEUE = contract.rq_queue(contract.TOOLS_QUEUE)


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    with running_stack(redis_server.url, TOOL_MODULES) as stack:
        stack.start_relay()
        with stack.worker(1):  # as in any deployment, workers have run and published their tools' timeouts
            pass
        yield stack


def test_hume_refusing_for_three_seconds_still_gets_one_answer_before_the_deadline(stack: Stack) -> None:
    with stack.worker(1):
        chat_id = stack.chat(allow_connection=False)
        stack.sim.fail_sends_for(chat_id, 500, 3.0)
        tool_call_id, sent_at = stack.call("get_weather", {"city": "Oslo"}, chat_id)  # deadline: 10 s
        answer = stack.only_answer(tool_call_id, timeout=15)
    assert answer.message["type"] == "tool_response"
    assert 3.0 <= answer.received_at - sent_at < 10 + 2  # deadline + DELIVERY_GRACE_SECONDS
    assert stack.sim.http_send_attempts[chat_id] > 8  # more than the old fixed count of attempts


def test_retry_after_is_honoured_twice_then_one_answer(stack: Stack) -> None:
    with stack.worker(1):
        chat_id = stack.chat(allow_connection=False)
        stack.sim.fail_next_sends(chat_id, [429, 429])
        stack.sim.retry_after[chat_id] = "1"
        tool_call_id, sent_at = stack.call("get_weather", {"city": "Rome"}, chat_id)
        answer = stack.only_answer(tool_call_id)
    took = answer.received_at - sent_at
    print(f"\n429 with Retry-After: 1, twice: answered {took:.2f} s after the webhook")
    assert 2.0 <= took < 3.0
    assert stack.sim.http_send_attempts[chat_id] == 3


def test_a_call_whose_job_is_lost_is_answered_timeout_by_the_deadline(stack: Stack) -> None:
    """No worker runs; the job vanishes after the 202. The relay's watchdog answers at the deadline."""
    chat_id = stack.chat(allow_connection=False)
    tool_call_id, sent_at = stack.call("hold", {"key": "lost"}, chat_id)  # timeout=2
    job_id = contract.job_id("tool_call", tool_call_id)
    assert stack.redis.lrem(QUEUE, 0, job_id) == 1
    stack.redis.delete(Job.key_for(job_id))
    answer = stack.only_answer(tool_call_id, timeout=10)
    late = answer.received_at - (sent_at + 2)
    print(f"\nlost job: timeout answered {late * 1000:.0f} ms after its deadline")
    assert (answer.message["type"], answer.message["code"]) == ("tool_error", "timeout")
    assert -0.05 < late <= 0.5
    assert stack.record(tool_call_id)["note"] == "never_started"


@pytest.mark.parametrize("popped_by", ["BLMOVE", "BLPOP"])
def test_a_call_popped_by_a_worker_that_never_started_it_is_queued_again_and_answered(
    stack: Stack, popped_by: str
) -> None:
    chat_id = stack.chat(allow_connection=False)
    tool_call_id, sent_at = stack.call("get_weather", {"city": "Lima"}, chat_id)
    job_id = contract.job_id("tool_call", tool_call_id)
    # popped by a worker that died before starting it: a worker on one queue moves what it pops into RQ's
    # intermediate list (BLMOVE); one on several queues, as by default, keeps no copy of it (BLPOP)
    if popped_by == "BLMOVE":
        popped = stack.redis.lmove(QUEUE, contract.rq_intermediate_queue(contract.TOOLS_QUEUE), "LEFT", "RIGHT")
    else:
        popped = stack.redis.lpop(QUEUE)
    assert popped == job_id.encode()
    with stack.worker(1):
        answer = stack.only_answer(tool_call_id, timeout=12)
    print(f"\npopped by {popped_by}, never started: answered {answer.received_at - sent_at:.1f} s after the webhook")
    assert answer.message["type"] == "tool_response"
    assert answer.received_at < sent_at + 10


def test_a_handler_blocking_its_loop_does_not_hold_up_calls_in_the_same_process(stack: Stack) -> None:
    key = uuid.uuid4().hex
    with stack.worker(1, WORKER_CONCURRENCY="8") as worker:
        chat_id = stack.chat(allow_connection=False)
        blocking, _ = stack.call("block_three_seconds", {"key": key}, chat_id)
        wait_for(lambda: stack.redis.get(f"test:blocking:{key}"), timeout=5)
        waits = []
        for _ in range(5):
            tool_call_id, sent_at = stack.call("quick", {}, chat_id)
            waits.append(stack.answer(tool_call_id, timeout=5).received_at - sent_at)
        assert stack.only_answer(blocking, timeout=10).message["content"] == "finally"
        print(f"\n5 quick calls beside a 3 s blocking handler, same process: {max(waits) * 1000:.0f} ms at most")
        assert max(waits) < 0.2, waits
        output = stack.stop(worker)
    assert output.count("tool block_three_seconds blocked its event loop for") == 1
    assert "blocked its event loop for 3." in output
