"""Redis SIGKILLed under a stream of calls, and started again from its append-only file: every call the web
tier acknowledged (202) gets exactly one answer, in time or as the watchdog's `timeout`; none gets silence.

Ten bounded rounds: calls are posted steadily from a thread (each one either acknowledged or refused with
503, which Hume would redeliver); Redis is killed at a random moment, down for a moment, started again on the
same port and folder. Then every acknowledged call must have its final record and one answer at the simulator.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis

from evi_toolhost.embedded_redis import EmbeddedRedis
from tests.conftest import TEST_SIGNING_KEY
from tests.support.servers import wait_for
from tests.support.stack import Stack
from tests.support.webhooks import signed, tool_call_payload

pytestmark = pytest.mark.integration

ROUNDS = 10
CALLS_PER_SECOND = 25
TIMEOUT_SECONDS = 3


class Stream:
    """Posts tool calls until stopped; remembers each acknowledged one."""

    def __init__(self, stack: Stack, chat_id: str) -> None:
        self.stack, self.chat_id = stack, chat_id
        self.acknowledged: list[str] = []
        self.refused = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._post, daemon=True)

    def __enter__(self) -> Stream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _post(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self._stop.is_set():
                payload = tool_call_payload("get_weather", {"city": "Oslo"}, chat_id=self.chat_id)
                body, headers = signed(payload, TEST_SIGNING_KEY)
                try:
                    status = http.post(f"{self.stack.web_url}/hume-webhook", content=body, headers=headers).status_code
                except httpx.TransportError:
                    status = 0
                if status == 202:
                    self.acknowledged.append(payload["tool_call_message"]["tool_call_id"])
                else:
                    assert status in (0, 503), status
                    self.refused += 1
                self._stop.wait(1 / CALLS_PER_SECOND)


@pytest.fixture
def crashing_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(data_dir=tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def test_redis_killed_and_restarted_ten_times_loses_and_doubles_no_acknowledged_call(
    crashing_redis: EmbeddedRedis,
) -> None:
    stack = Stack(crashing_redis.url, "examples.weather", TOOL_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS)).start()
    try:
        stack.start_worker(2)
        stack.start_relay()
        chat_id = stack.chat(allow_connection=False)
        rng = random.Random(7)
        with Stream(stack, chat_id) as stream:
            for _ in range(ROUNDS):
                time.sleep(rng.uniform(0.3, 0.9))
                crashing_redis.kill()
                time.sleep(rng.uniform(0.2, 0.8))
                crashing_redis.start()
            time.sleep(1)
        probe = Redis.from_url(crashing_redis.url)
        wait_for(lambda: probe.ping(), timeout=10)
        answers = stack.only_answers(stream.acknowledged, timeout=TIMEOUT_SECONDS + 10)
        kinds = [answer.message.get("code") or "tool_response" for answer in answers]
        print(
            f"\n{ROUNDS} Redis crashes: {len(stream.acknowledged)} calls acknowledged, {stream.refused} refused (503); "
            f"answers: {kinds.count('tool_response')} tool_response, {kinds.count('timeout')} timeout, 0 lost, 0 double"
        )
        assert len(stream.acknowledged) > ROUNDS * 5
        probe.close()
    finally:
        stack.close()
