"""Several tool calls at once in one worker process (`WORKER_CONCURRENCY`), end to end: signed webhooks into
the real web process, RQ on a real Redis, a real worker pool of ONE process, the EVI simulator as Hume.

The web process and the simulator serve the whole module; each test starts its own worker, so each can
pick its concurrency, and stops it before the next one starts.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import httpx
import pytest
from redis import Redis
from rq import Worker

from evi_toolhost.embedded_redis import EmbeddedRedis, free_port
from evi_toolhost.simulator import ReceivedMessage, SimulatorState, create_simulator_app
from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY
from tests.support.servers import ServiceProcess, UvicornThread, service_env, wait_for
from tests.support.webhooks import signed, tool_call_payload
from workers.records import read_call

pytestmark = pytest.mark.integration

TOOL_MODULES = "tests.integration.tools"


@dataclass
class Stack:
    sim: SimulatorState
    web_url: str
    redis: Redis
    env: dict[str, str]
    http: httpx.Client

    @contextmanager
    def worker(self, concurrency: int) -> Iterator[ServiceProcess]:
        """`evi-toolhost worker --pool-size 1` with WORKER_CONCURRENCY=`concurrency`, registered with RQ."""
        env = {**self.env, "WORKER_CONCURRENCY": str(concurrency)}
        with ServiceProcess(["worker", "--pool-size", "1"], env) as worker:
            wait_for(lambda: Worker.count(connection=self.redis) == 1, timeout=20)
            yield worker
        wait_for(lambda: Worker.count(connection=self.redis) == 0, timeout=10)

    def post_at_once(self, count: int, key: str) -> list[tuple[str, float]]:
        """`count` signed tool_call webhooks of `await_one_second`, posted concurrently: (tool_call_id, sent_at)."""
        chat_id = self.sim.start_chat().id
        payloads = [tool_call_payload("await_one_second", {"key": key}, chat_id=chat_id) for _ in range(count)]

        def post(payload: dict[str, Any]) -> tuple[str, float]:
            body, headers = signed(payload, TEST_SIGNING_KEY)
            sent_at = time.time()
            response = self.http.post(f"{self.web_url}/hume-webhook", content=body, headers=headers)
            assert response.status_code == 202, response.text
            return payload["tool_call_message"]["tool_call_id"], sent_at

        with ThreadPoolExecutor(count) as pool:
            return list(pool.map(post, payloads))

    def answer(self, tool_call_id: str, timeout: float) -> ReceivedMessage:
        (answer,) = wait_for(lambda: self.sim.answers_for(tool_call_id), timeout=timeout)
        return answer  # type: ignore[no-any-return]

    def runs(self, key: str) -> list[tuple[float, float]]:
        """(start, end) of every run of `await_one_second` with this key, in start order."""
        return sorted(tuple(json.loads(raw)) for raw in self.redis.lrange(f"test:ran:{key}", 0, -1))


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    redis = Redis.from_url(redis_server.url)
    redis.flushall()
    app = create_simulator_app(TEST_API_KEY)
    with UvicornThread(app) as simulator:
        env = service_env(redis_server.url, simulator.url, TOOL_MODULES)
        env["LOG_LEVEL"] = "INFO"
        port = free_port()
        web = ServiceProcess(["web", "--port", str(port)], env, ready_url=f"http://127.0.0.1:{port}/healthz")
        with web, httpx.Client(timeout=5, limits=httpx.Limits(max_connections=32)) as http:
            yield Stack(app.state.simulator, f"http://127.0.0.1:{port}", redis, env, http)
    redis.flushall()
    redis.close()


def test_one_worker_process_answers_twenty_one_second_calls_together(stack: Stack) -> None:
    key = uuid.uuid4().hex
    with stack.worker(concurrency=24):
        calls = stack.post_at_once(20, key)
        answers = [(stack.answer(tool_call_id, timeout=10), sent_at) for tool_call_id, sent_at in calls]
        late = [round(answer.received_at - sent_at, 2) for answer, sent_at in answers]
        print(f"\n20 calls of a 1 s async tool, one worker process: answered {min(late)}-{max(late)} s after sending")
        assert all(answer.message["type"] == "tool_response" for answer, _ in answers)
        assert max(late) < 3.0, late  # one after another, they would take 20 s
        runs = stack.runs(key)
        assert len(runs) == 20
        assert max(start for start, _ in runs) < min(end for _, end in runs)  # all 20 were running at once
        for tool_call_id, _ in calls:
            assert read_call(stack.redis, tool_call_id)["status"] == "answered"
            assert len(stack.sim.answers_for(tool_call_id)) == 1


def test_concurrency_one_runs_calls_one_after_another(stack: Stack) -> None:
    key = uuid.uuid4().hex
    with stack.worker(concurrency=1):
        calls = stack.post_at_once(3, key)
        for tool_call_id, _ in calls:
            assert stack.answer(tool_call_id, timeout=10).message["type"] == "tool_response"
    runs = stack.runs(key)
    assert len(runs) == 3
    assert all(earlier_end <= later_start for (_, earlier_end), (later_start, _) in pairwise(runs))


def test_warm_shutdown_finishes_every_running_call(stack: Stack) -> None:
    key = uuid.uuid4().hex
    with stack.worker(concurrency=8) as worker:
        calls = stack.post_at_once(5, key)
        wait_for(lambda: int(stack.redis.get(f"test:begun:{key}") or 0) == 5, timeout=5)
        (rq_worker,) = Worker.all(connection=stack.redis)
        assert rq_worker.get_state() == "busy"
        assert worker.process is not None
        worker.process.send_signal(signal.SIGTERM)  # SIGTERM to the pool's process only, as `docker stop` does
        for tool_call_id, _ in calls:
            assert stack.answer(tool_call_id, timeout=5).message["type"] == "tool_response"
        assert worker.process.wait(timeout=10) == 0
    assert len(stack.runs(key)) == 5
