"""Several tool calls at once in one worker process (`WORKER_CONCURRENCY`), end to end: signed webhooks into
the real web process, RQ on a real Redis, a real worker pool of ONE process, the EVI simulator as Hume.

The web process and the simulator serve the whole module; each test starts its own worker, so each can
pick its concurrency, and stops it before the next one starts.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import pytest
from rq import Worker

from evi_toolhost.embedded_redis import EmbeddedRedis
from tests.conftest import TEST_SIGNING_KEY
from tests.support.servers import wait_for
from tests.support.stack import Stack, running_stack
from tests.support.webhooks import signed, tool_call_payload

pytestmark = pytest.mark.integration

TOOL_MODULES = "tests.integration.tools"


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    with running_stack(redis_server.url, TOOL_MODULES) as stack:
        yield stack


def post_at_once(stack: Stack, count: int, key: str) -> list[tuple[str, float]]:
    """`count` signed tool_call webhooks of `await_one_second`, posted concurrently: (tool_call_id, sent_at)."""
    chat_id = stack.chat()
    payloads = [tool_call_payload("await_one_second", {"key": key}, chat_id=chat_id) for _ in range(count)]

    def post(payload: dict[str, Any]) -> tuple[str, float]:
        body, headers = signed(payload, TEST_SIGNING_KEY)
        sent_at = time.time()
        response = stack.http.post(f"{stack.web_url}/hume-webhook", content=body, headers=headers)
        assert response.status_code == 202, response.text
        return payload["tool_call_message"]["tool_call_id"], sent_at

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(post, payloads))


def runs(stack: Stack, key: str) -> list[tuple[float, float]]:
    """(start, end) of every run of `await_one_second` with this key, in start order."""
    return sorted(tuple(json.loads(raw)) for raw in stack.redis.lrange(f"test:ran:{key}", 0, -1))


def test_one_worker_process_answers_twenty_one_second_calls_together(stack: Stack) -> None:
    key = uuid.uuid4().hex
    with stack.worker(1, WORKER_CONCURRENCY="24"):
        calls = post_at_once(stack, 20, key)
        answers = [(stack.answer(tool_call_id, timeout=10), sent_at) for tool_call_id, sent_at in calls]
        late = [round(answer.received_at - sent_at, 2) for answer, sent_at in answers]
        print(f"\n20 calls of a 1 s async tool, one worker process: answered {min(late)}-{max(late)} s after sending")
        assert all(answer.message["type"] == "tool_response" for answer, _ in answers)
        assert max(late) < 3.0, late  # one after another, they would take 20 s
        for tool_call_id, _ in calls:
            assert stack.record(tool_call_id)["status"] == "answered"
            stack.only_answer(tool_call_id)
        found = runs(stack, key)
        assert len(found) == 20
        assert max(start for start, _ in found) < min(end for _, end in found)  # all 20 were running at once


def test_concurrency_one_runs_calls_one_after_another(stack: Stack) -> None:
    key = uuid.uuid4().hex
    with stack.worker(1, WORKER_CONCURRENCY="1"):
        calls = post_at_once(stack, 3, key)
        for tool_call_id, _ in calls:
            assert stack.answer(tool_call_id, timeout=10).message["type"] == "tool_response"
            stack.record(tool_call_id)
    found = runs(stack, key)
    assert len(found) == 3
    assert all(earlier_end <= later_start for (_, earlier_end), (later_start, _) in pairwise(found))


def test_warm_shutdown_finishes_every_running_call(stack: Stack) -> None:
    key = uuid.uuid4().hex
    with stack.worker(1, WORKER_CONCURRENCY="8") as worker:
        calls = post_at_once(stack, 5, key)
        wait_for(lambda: int(stack.redis.get(f"test:begun:{key}") or 0) == 5, timeout=5)
        (rq_worker,) = Worker.all(connection=stack.redis)
        assert rq_worker.get_state() == "busy"
        assert worker.process is not None
        worker.process.send_signal(signal.SIGTERM)  # SIGTERM to the pool's process only, as `docker stop` does
        for tool_call_id, _ in calls:
            assert stack.answer(tool_call_id, timeout=5).message["type"] == "tool_response"
            assert stack.record(tool_call_id)["status"] == "answered"
        assert worker.process.wait(timeout=10) == 0
    assert len(runs(stack, key)) == 5


@pytest.mark.parametrize("round_", [1, 2, 3])
def test_sigterm_to_the_whole_process_group_stops_every_worker_at_once(stack: Stack, round_: int) -> None:
    """systemd (KillMode=control-group), `kill -TERM -PGID` or an init run with -g signal the pool and each worker at
    once, and the pool then sends each worker SIGINT: with two signals pending, a worker whose main thread waits for a
    job must still see one (a third of such rounds left a worker waiting for RQ's 405 s BLPOP)."""
    with stack.worker(4) as worker:
        chat_id = stack.chat()
        for tool_call_id, _ in [stack.call("quick", {}, chat_id) for _ in range(20)]:
            stack.answer(tool_call_id)
        assert worker.process is not None
        os.killpg(worker.process.pid, signal.SIGTERM)
        started = time.monotonic()
        assert worker.process.wait(timeout=6) == 0  # a second for the BLPOP, a second for the pool's own loop
        took = time.monotonic() - started
        print(f"\nSIGTERM to a pool of 4's group (round {round_}): every process gone in {took:.2f} s")
