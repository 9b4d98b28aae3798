"""The relay with real processes: web, worker, two relays, Redis, and the simulator's socket as EVI."""

from __future__ import annotations

import json
import signal
import socket
import statistics
import time
import uuid
from collections.abc import Iterator

import pytest

from evi_toolhost.embedded_redis import EmbeddedRedis
from service.queue import contract
from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY
from tests.support.servers import wait_for
from tests.support.stack import Stack
from tests.support.webhooks import tool_call_payload

pytestmark = pytest.mark.integration

LEASE_MS = 1500


def socket_state(stack: Stack, chat_id: str) -> str | None:
    state = stack.redis.hget(contract.socket_state(chat_id), "state")
    return state.decode() if state else None


def wait_socket(stack: Stack, chat_id: str, state: str, timeout: float = 10) -> None:
    wait_for(lambda: socket_state(stack, chat_id) == state, timeout=timeout)


def lease_owner(stack: Stack, chat_id: str) -> str | None:
    found = stack.redis.get(contract.lease(chat_id))
    return found.decode() if found else None


def start_chat(stack: Stack, *, allow_connection: bool = True) -> str:
    return stack.chat(allow_connection=allow_connection, announce=True)


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    # The most a deployment could log: still no secret in it.
    stack = Stack(redis_server.url, "tests.integration.relay_tools", log_level="DEBUG").start()
    try:
        stack.start_worker(2)
        stack.start_relay(LEASE_MS)
        yield stack
    finally:
        outputs = stack.close()
    assert_no_secrets(outputs)


def assert_no_secrets(outputs: list[str]) -> None:
    """Promise 6: the API key and signing key never reach a log, even at DEBUG."""
    assert sum(len(output) for output in outputs) > 0
    for output in outputs:
        assert TEST_API_KEY not in output
        assert TEST_SIGNING_KEY not in output


def test_answers_go_over_the_socket_when_the_chat_allows_it(stack: Stack) -> None:
    socket_chat = start_chat(stack, allow_connection=True)
    http_chat = start_chat(stack, allow_connection=False)
    wait_socket(stack, socket_chat, "open")
    wait_socket(stack, http_chat, "socketless")
    latencies: dict[str, list[float]] = {"socket": [], "http": []}
    for _ in range(15):
        for chat_id in (socket_chat, http_chat):
            tool_call_id, sent_at = stack.call("ping", {"key": uuid.uuid4().hex}, chat_id)
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
    chat_id = start_chat(stack, allow_connection=False)
    wait_socket(stack, chat_id, "socketless")
    tool_call_id, _ = stack.call("ping", {"key": uuid.uuid4().hex}, chat_id)
    assert stack.answer(tool_call_id).transport == "http"
    record = wait_for(lambda: stack.redis.hgetall(f"evi:call:{tool_call_id}").get(b"relay_wait_ms"))
    assert int(record) == 0


def test_a_tool_call_seen_only_on_the_socket_is_run_and_answered(stack: Stack) -> None:
    chat_id = start_chat(stack)
    wait_socket(stack, chat_id, "open")
    key = uuid.uuid4().hex
    call = stack.sim.add_tool_call(chat_id, name="ping", parameters=json.dumps({"key": key}))
    answer = stack.answer(call.tool_call_id)
    assert (answer.message["content"], answer.transport) == ("1", "socket")


def test_a_tool_call_seen_both_ways_runs_once(stack: Stack) -> None:
    chat_id = start_chat(stack)
    wait_socket(stack, chat_id, "open")
    key = uuid.uuid4().hex
    payload = tool_call_payload("ping", {"key": key}, chat_id=chat_id)
    message = payload["tool_call_message"]
    stack.sim.add_tool_call(
        chat_id, name="ping", parameters=message["parameters"], tool_call_id=message["tool_call_id"]
    )
    stack.post(payload)
    answer = stack.answer(message["tool_call_id"])
    assert answer.message["content"] == "1"
    stack.only_answer(message["tool_call_id"])
    assert int(stack.redis.get(f"test:runs:{key}") or 0) == 1


def test_a_handler_reading_the_transcript_sees_the_callers_last_words(stack: Stack) -> None:
    chat_id = start_chat(stack)
    wait_socket(stack, chat_id, "open")
    stack.sim.add_user_message(chat_id, "I'd like a table by the window.")
    stack.sim.add_assistant_message(chat_id, "Let me check.")
    stack.sim.add_user_message(chat_id, "For six people, at eight.")
    wait_for(lambda: stack.redis.llen(contract.conversation(chat_id)) == 3)
    tool_call_id, _ = stack.call("last_words", {}, chat_id)
    assert stack.answer(tool_call_id).message["content"] == "For six people, at eight."


def test_two_relays_share_twenty_chats_and_survive_losing_one(stack: Stack) -> None:
    """Last in this module: it kills a relay."""
    second = stack.start_relay(LEASE_MS)
    wait_for(lambda: len(stack.redis.keys(contract.RELAY_ALIVE_PATTERN)) == 2, timeout=10)
    chats = [start_chat(stack) for _ in range(20)]
    for chat_id in chats:
        wait_socket(stack, chat_id, "open", timeout=15)

    def one_socket_each() -> bool:
        return all(stack.sim.open_sockets(chat_id) == 1 for chat_id in chats)

    wait_for(one_socket_each, timeout=15)
    owners = {chat_id: lease_owner(stack, chat_id) for chat_id in chats}
    assert None not in owners.values()
    relay_ids = set(owners.values())
    print(f"\n20 chats over {len(relay_ids)} relays: {sorted(list(owners.values()).count(r) for r in relay_ids)}")

    assert second.process is not None
    killed = f"{socket.gethostname()}-{second.process.pid}-"
    assert any(owner.startswith(killed) for owner in owners.values() if owner)
    assert_no_secrets([stack.stop(second, signal.SIGKILL)])
    answers = []
    for chat_id in chats:
        tool_call_id, _ = stack.call("ping", {"key": uuid.uuid4().hex}, chat_id)
        answers.append(tool_call_id)
    for tool_call_id in answers:
        stack.answer(tool_call_id, timeout=15)

    def all_taken_over() -> bool:
        owners = [lease_owner(stack, chat_id) for chat_id in chats]
        alive = all(owner is not None and not owner.startswith(killed) for owner in owners)
        return alive and all(stack.sim.open_sockets(chat_id) == 1 for chat_id in chats)

    started = time.monotonic()
    wait_for(all_taken_over, timeout=15)
    print(f"takeover of the killed relay's chats finished {time.monotonic() - started:.1f} s after the answers")
    for tool_call_id in answers:
        stack.only_answer(tool_call_id)
