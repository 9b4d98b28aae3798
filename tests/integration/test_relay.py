"""The relay with real processes: web, worker, two relays, Redis, and the simulator's socket as EVI."""

from __future__ import annotations

import json
import signal
import socket
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis import Redis
from rq import Worker

from evi_toolhost.embedded_redis import EmbeddedRedis
from evi_toolhost.simulator import ReceivedMessage, SimulatorState, create_simulator_app
from service.queue import contract
from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY
from tests.support.servers import ServiceProcess, UvicornThread, service_env, wait_for, web_process
from tests.support.webhooks import chat_started_payload, signed, tool_call_payload

pytestmark = pytest.mark.integration

LEASE_MS = 1500


@dataclass
class Stack:
    sim: SimulatorState
    web_url: str
    redis: Redis
    env: dict[str, str]
    relays: list[ServiceProcess]
    http: httpx.Client

    def post(self, payload: dict[str, Any]) -> httpx.Response:
        body, headers = signed(payload, TEST_SIGNING_KEY)
        response = self.http.post(f"{self.web_url}/hume-webhook", content=body, headers=headers)
        assert response.status_code in (200, 202), response.text
        return response

    def start_chat(self, *, allow_connection: bool = True) -> str:
        chat_id = self.sim.start_chat(allow_connection=allow_connection).id
        self.post(chat_started_payload(chat_id))
        return chat_id

    def socket_state(self, chat_id: str) -> str | None:
        state = self.redis.hget(contract.socket_state(chat_id), "state")
        return state.decode() if state else None

    def wait_socket(self, chat_id: str, state: str, timeout: float = 10) -> None:
        wait_for(lambda: self.socket_state(chat_id) == state, timeout=timeout)

    def owner(self, chat_id: str) -> str | None:
        owner = self.redis.get(contract.lease(chat_id))
        return owner.decode() if owner else None

    def call_by_webhook(self, chat_id: str, name: str, arguments: dict[str, Any]) -> tuple[str, float]:
        payload = tool_call_payload(name, arguments, chat_id=chat_id)
        sent_at = time.time()
        self.post(payload)
        return payload["tool_call_message"]["tool_call_id"], sent_at

    def answer(self, tool_call_id: str, timeout: float = 10) -> ReceivedMessage:
        (answer,) = wait_for(lambda: self.sim.answers_for(tool_call_id), timeout=timeout)
        return answer  # type: ignore[no-any-return]

    def start_relay(self) -> ServiceProcess:
        relay = ServiceProcess(["relay", "--lease-ms", str(LEASE_MS)], self.env).start()
        self.relays.append(relay)
        return relay


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    redis = Redis.from_url(redis_server.url)
    redis.flushall()
    app = create_simulator_app(TEST_API_KEY)
    with UvicornThread(app) as simulator:
        env = service_env(redis_server.url, simulator.url, "tests.integration.relay_tools")
        env["LOG_LEVEL"] = "DEBUG"  # the most a deployment could log: still no secret in it
        web, worker = web_process(env), ServiceProcess(["worker", "--pool-size", "2"], env)
        with web, worker, httpx.Client() as http:
            wait_for(lambda: Worker.count(connection=redis) >= 2, timeout=20)
            stack = Stack(app.state.simulator, web.url, redis, env, [], http)
            stack.start_relay()
            wait_for(lambda: redis.keys(contract.RELAY_ALIVE_PATTERN), timeout=10)
            try:
                yield stack
            finally:
                outputs = [relay.stop() for relay in stack.relays]
            outputs += [web.stop(), worker.stop()]
    assert_no_secrets(outputs)
    redis.flushall()
    redis.close()


def assert_no_secrets(outputs: list[str]) -> None:
    """Promise 6: the API key and signing key never reach a log, even at DEBUG."""
    assert sum(len(output) for output in outputs) > 0
    for output in outputs:
        assert TEST_API_KEY not in output
        assert TEST_SIGNING_KEY not in output


def test_answers_go_over_the_socket_when_the_chat_allows_it(stack: Stack) -> None:
    socket_chat = stack.start_chat(allow_connection=True)
    http_chat = stack.start_chat(allow_connection=False)
    stack.wait_socket(socket_chat, "open")
    stack.wait_socket(http_chat, "socketless")
    latencies: dict[str, list[float]] = {"socket": [], "http": []}
    for _ in range(15):
        for chat_id in (socket_chat, http_chat):
            tool_call_id, sent_at = stack.call_by_webhook(chat_id, "ping", {"key": uuid.uuid4().hex})
            answer = stack.answer(tool_call_id)
            assert answer.message["type"] == "tool_response"
            latencies[answer.transport].append((answer.received_at - sent_at) * 1000)
    assert len(latencies["socket"]) == 15, "every answer to the socket chat went over its socket"
    assert len(latencies["http"]) == 15, "every answer to the socket-less chat went by HTTP"
    print(
        f"\nwebhook → answer, median of 15: socket {statistics.median(latencies['socket']):.1f} ms, "
        f"HTTP {statistics.median(latencies['http']):.1f} ms"
    )


def test_a_socketless_chat_is_answered_by_http_without_waiting_for_the_relay(stack: Stack) -> None:
    chat_id = stack.start_chat(allow_connection=False)
    stack.wait_socket(chat_id, "socketless")
    tool_call_id, _ = stack.call_by_webhook(chat_id, "ping", {"key": uuid.uuid4().hex})
    assert stack.answer(tool_call_id).transport == "http"
    record = wait_for(lambda: stack.redis.hgetall(f"evi:call:{tool_call_id}").get(b"relay_wait_ms"))
    assert int(record) == 0


def test_a_tool_call_seen_only_on_the_socket_is_run_and_answered(stack: Stack) -> None:
    chat_id = stack.start_chat()
    stack.wait_socket(chat_id, "open")
    key = uuid.uuid4().hex
    call = stack.sim.add_tool_call(chat_id, name="ping", parameters=json.dumps({"key": key}))
    answer = stack.answer(call.tool_call_id)
    assert (answer.message["content"], answer.transport) == ("1", "socket")


def test_a_tool_call_seen_both_ways_runs_once(stack: Stack) -> None:
    chat_id = stack.start_chat()
    stack.wait_socket(chat_id, "open")
    key = uuid.uuid4().hex
    payload = tool_call_payload("ping", {"key": key}, chat_id=chat_id)
    message = payload["tool_call_message"]
    stack.sim.add_tool_call(
        chat_id, name="ping", parameters=message["parameters"], tool_call_id=message["tool_call_id"]
    )
    stack.post(payload)
    answer = stack.answer(message["tool_call_id"])
    assert answer.message["content"] == "1"
    assert int(stack.redis.get(f"test:runs:{key}") or 0) == 1
    assert len(stack.sim.answers_for(message["tool_call_id"])) == 1


def test_a_handler_reading_the_transcript_sees_the_callers_last_words(stack: Stack) -> None:
    chat_id = stack.start_chat()
    stack.wait_socket(chat_id, "open")
    stack.sim.add_user_message(chat_id, "I'd like a table by the window.")
    stack.sim.add_assistant_message(chat_id, "Let me check.")
    stack.sim.add_user_message(chat_id, "For six people, at eight.")
    wait_for(lambda: stack.redis.llen(contract.conversation(chat_id)) == 3)
    tool_call_id, _ = stack.call_by_webhook(chat_id, "last_words", {})
    assert stack.answer(tool_call_id).message["content"] == "For six people, at eight."


def test_two_relays_share_twenty_chats_and_survive_losing_one(stack: Stack) -> None:
    """Last in this module: it kills a relay."""
    second = stack.start_relay()
    wait_for(lambda: len(stack.redis.keys(contract.RELAY_ALIVE_PATTERN)) == 2, timeout=10)
    chats = [stack.start_chat() for _ in range(20)]
    for chat_id in chats:
        stack.wait_socket(chat_id, "open", timeout=15)

    def one_socket_each() -> bool:
        return all(stack.sim.open_sockets(chat_id) == 1 for chat_id in chats)

    wait_for(one_socket_each, timeout=15)
    owners = {chat_id: stack.owner(chat_id) for chat_id in chats}
    assert None not in owners.values()
    relay_ids = set(owners.values())
    print(f"\n20 chats over {len(relay_ids)} relays: {sorted(list(owners.values()).count(r) for r in relay_ids)}")

    assert second.process is not None
    killed = f"{socket.gethostname()}-{second.process.pid}-"
    assert any(owner.startswith(killed) for owner in owners.values() if owner)
    second.stop(signal.SIGKILL)
    answers = []
    for chat_id in chats:
        tool_call_id, _ = stack.call_by_webhook(chat_id, "ping", {"key": uuid.uuid4().hex})
        answers.append(tool_call_id)
    for tool_call_id in answers:
        stack.answer(tool_call_id, timeout=15)

    def all_taken_over() -> bool:
        owners = [stack.owner(chat_id) for chat_id in chats]
        alive = all(owner is not None and not owner.startswith(killed) for owner in owners)
        return alive and all(stack.sim.open_sockets(chat_id) == 1 for chat_id in chats)

    started = time.monotonic()
    wait_for(all_taken_over, timeout=15)
    print(f"takeover of the killed relay's chats finished {time.monotonic() - started:.1f} s after the answers")
    for tool_call_id in answers:
        assert len(stack.sim.answers_for(tool_call_id)) == 1
