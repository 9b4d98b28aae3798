"""The worker tier end to end: signed webhooks into the real web process, RQ on a real Redis, a real worker
pool, and the EVI simulator standing in for Hume (control plane and chat history).

One stack serves the whole module (starting processes is the slow part); every test uses its own chats
and tool call ids, so tests cannot see each other's answers.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from evi_toolhost.embedded_redis import EmbeddedRedis
from evi_toolhost.testing import ToolKit
from service.queue.contract import TOOLS_QUEUE
from tests.support.servers import wait_for
from tests.support.stack import Stack, running_stack
from tests.support.webhooks import chat_ended_payload, chat_started_payload, tool_call_payload
from workers.records import read_call, read_chat

pytestmark = pytest.mark.integration

POOL_SIZE = 2
TOOL_MODULES = "examples.weather,tests.integration.tools,tests.integration.kit_tools"


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    with running_stack(redis_server.url, TOOL_MODULES) as stack:
        stack.start_worker(POOL_SIZE)
        yield stack


def test_tool_call_webhook_is_answered_with_the_tool_response(stack: Stack) -> None:
    chat_id = stack.chat()
    timings = []
    for city in ("Paris", "Lyon"):  # the second one runs on warm connections
        tool_call_id, sent_at = stack.call("get_weather", {"city": city, "unit": "celsius"}, chat_id)
        answer = stack.answer(tool_call_id)
        timings.append((answer.received_at - sent_at) * 1000)
        assert answer.message["type"] == "tool_response"
        assert answer.message["tool_call_id"] == tool_call_id
        assert answer.message["tool_name"] == "get_weather"
        assert json.loads(answer.message["content"])["city"] == city
        record = stack.record(tool_call_id, "answered")
        assert (record["transport"], record["answer_type"]) == ("http", "tool_response")
    print(f"\nwebhook → tool_response at the simulator: first {timings[0]:.0f} ms, then {timings[1]:.0f} ms")


@pytest.mark.parametrize(
    ("name", "arguments", "code", "content"),
    [
        ("no_such_tool", {}, "unknown_tool", "There is no tool named 'no_such_tool'. The tools that exist are: "),
        ("get_weather", {"unit": "kelvin"}, "invalid_arguments", "Invalid arguments for get_weather: city is required"),
        ("lookup_order", {"order_id": "Z9"}, "order_not_found", "There is no order Z9."),
        ("loyalty_points", {"member_id": "m1"}, "tool_failed", "Loyalty points cannot be checked right now"),
    ],
)
def test_each_failure_gets_one_tool_error_before_the_deadline(
    stack: Stack, name: str, arguments: dict[str, Any], code: str, content: str
) -> None:
    chat_id = stack.chat()
    tool_call_id, sent_at = stack.call(name, arguments, chat_id)
    answer = stack.answer(tool_call_id)
    assert (answer.message["type"], answer.message["code"], answer.message["level"]) == ("tool_error", code, "warn")
    assert answer.message["content"].startswith(content)
    assert answer.received_at < sent_at + 10  # the default TOOL_TIMEOUT_SECONDS
    record = stack.record(tool_call_id, "failed")
    assert record["error_code"] == code
    stack.only_answer(tool_call_id)


def test_hanging_handlers_time_out_and_the_workers_go_on(stack: Stack) -> None:
    chat_id = stack.chat()
    # One async handler that awaits forever and one sync handler stuck in its thread, one per worker.
    hung = [stack.call(name, {}, chat_id) for name in ("sleep_forever", "block_forever")]
    for tool_call_id, sent_at in hung:
        answer = stack.answer(tool_call_id, timeout=3)
        assert (answer.message["code"], answer.message["content"]) == ("timeout", "That took too long.")
        assert answer.received_at - sent_at < 2.0
        record = stack.record(tool_call_id, "timeout")
        # The handler ran; its worker answers at the deadline, or, on a loaded machine, the watchdog 0.2 s after it.
        assert record.get("ran") == "1" or record.get("note") == "started", record
    # Both workers still serve calls (the stuck thread is abandoned, not waited for).
    served = [stack.call("get_weather", {"city": city}, chat_id) for city in ("Oslo", "Rome", "Kyiv")]
    for tool_call_id, _ in served:
        assert stack.answer(tool_call_id, timeout=3).message["type"] == "tool_response"


def test_one_tool_call_delivered_six_times_runs_once_and_is_answered_once(stack: Stack) -> None:
    chat_id = stack.chat()
    key = uuid.uuid4().hex
    payload = tool_call_payload("count_runs", {"key": key}, chat_id=chat_id)
    tool_call_id = payload["tool_call_message"]["tool_call_id"]
    queue = Queue(TOOLS_QUEUE, connection=stack.redis, serializer=JSONSerializer)
    # Three jobs straight onto the queue (bypassing the web tier's claim), and three webhooks at once.
    direct = [
        queue.enqueue_call("workers.jobs.run_tool_call", args=(payload,), job_id=f"dup-{i}-{key}") for i in range(3)
    ]
    with ThreadPoolExecutor(3) as pool:
        statuses = sorted(pool.map(lambda _: stack.post(payload).status_code, range(3)))
    assert statuses == [200, 200, 202]  # the web tier queued one, and called the others duplicates
    answer = stack.answer(tool_call_id)
    assert answer.message["content"] == "1"

    def all_jobs_done() -> bool:
        return all(job.get_status(refresh=True) == JobStatus.FINISHED for job in direct)

    wait_for(all_jobs_done, timeout=5)
    results = [Job.fetch(job.id, connection=stack.redis, serializer=JSONSerializer).return_value() for job in direct]
    assert results.count("duplicate") >= 2
    stack.only_answer(tool_call_id)
    assert int(stack.redis.get(f"test:runs:{key}") or 0) == 1


def test_control_plane_503_twice_then_200_is_delivered_once(stack: Stack) -> None:
    chat_id = stack.chat()
    stack.sim.fail_next_sends(chat_id, [503, 503])
    tool_call_id, _ = stack.call("get_weather", {"city": "Paris"}, chat_id)
    assert stack.answer(tool_call_id).message["type"] == "tool_response"
    assert stack.record(tool_call_id, "answered")["status"] == "answered"
    stack.only_answer(tool_call_id)
    assert stack.sim.http_send_attempts[chat_id] == 3


def test_control_plane_404_is_not_retried_and_recorded_undeliverable(stack: Stack) -> None:
    chat_id = stack.chat()
    stack.sim.fail_next_sends(chat_id, [404])
    tool_call_id, _ = stack.call("get_weather", {"city": "Paris"}, chat_id)
    record = stack.record(tool_call_id, "undeliverable")
    assert (record["http_status"], record["answer_type"]) == ("404", "tool_response")
    assert stack.sim.http_send_attempts[chat_id] == 1
    assert stack.sim.answers_for(tool_call_id) == []


def test_the_test_kit_writes_the_same_call_record_as_a_worker(stack: Stack) -> None:
    import tests.integration.kit_tools  # noqa: F401  (the kit runs the tool in this process)

    chat_id = stack.chat()
    tool_call_id, _ = stack.call("say_then_answer", {}, chat_id)
    stack.only_answer(tool_call_id)
    said = [m.message["type"] for m in stack.sim.chats[chat_id].received]
    worker_record = stack.record(tool_call_id)
    with ToolKit() as kit:
        result = kit.call_sync("say_then_answer")
    assert [message.type for message in result.messages] == said == ["assistant_input", "tool_response"]
    assert set(worker_record) - {"job_id"} == set(result.record)
    stable = ("name", "tool_type", "status", "answer_type", "transport", "ran", "relay_wait_ms")
    assert {key: result.record[key] for key in stable} == {key: worker_record[key] for key in stable}


def test_twenty_answers_reuse_connections(stack: Stack) -> None:
    chat_id = stack.chat()
    for i in range(20):
        tool_call_id, _ = stack.call("get_weather", {"city": f"City {i}"}, chat_id)
        stack.answer(tool_call_id)
    connections = stack.sim.distinct_http_clients(chat_id)
    print(f"\n20 answers to one chat over {connections} TCP connection(s) (pool of {POOL_SIZE} workers)")
    assert connections <= POOL_SIZE


def test_chat_lifecycle_records_and_hands_the_whole_transcript_to_the_hook(stack: Stack) -> None:
    chat_id = stack.chat()
    started = chat_started_payload(chat_id)
    stack.post(started)
    wait_for(lambda: stack.redis.get(f"test:started:{chat_id}") == b"+12223333333")
    assert read_chat(stack.redis, chat_id)["status"] == "active"
    said = []
    for i in range(65):  # 130 messages, plus the simulator's own events: more than one page of 100
        stack.sim.add_user_message(chat_id, f"question {i}")
        stack.sim.add_assistant_message(chat_id, f"answer {i}")
        said += [("user", f"question {i}"), ("assistant", f"answer {i}")]
    assert len(stack.sim.chats[chat_id].events) > 100
    stack.sim.end_chat(chat_id)
    stack.post(chat_ended_payload(chat_id))
    wait_for(lambda: stack.redis.get(f"test:ended:{chat_id}") is not None, timeout=5)
    lines = [json.loads(raw) for raw in stack.redis.lrange(f"test:transcript:{chat_id}", 0, -1)]
    assert [(line["role"], line["text"]) for line in lines] == said
    assert [line["timestamp_ms"] for line in lines] == sorted(line["timestamp_ms"] for line in lines)
    record = read_chat(stack.redis, chat_id)
    assert (record["status"], record["end_reason"], record["transcript_lines"]) == ("ended", "USER_ENDED", "130")


def test_worker_killed_mid_call_is_answered_timeout_by_the_watchdog_within_half_a_second(stack: Stack) -> None:
    chat_id = stack.chat()
    key = uuid.uuid4().hex
    tool_call_id, sent_at = stack.call("hold", {"key": key}, chat_id)  # timeout=2
    pid = int(wait_for(lambda: stack.redis.get(f"test:pid:{key}"), timeout=5))
    os.kill(pid, signal.SIGKILL)
    answer = stack.only_answer(tool_call_id, timeout=10)
    late = answer.received_at - (sent_at + 2)
    print(f"\nworker SIGKILLed mid-call: timeout answered by the watchdog {late * 1000:.0f} ms after the deadline")
    assert (answer.message["type"], answer.message["code"]) == ("tool_error", "timeout")
    assert -0.05 < late <= 0.5
    record = stack.record(tool_call_id, "timeout")
    assert (record["answered_by"], record["note"]) == ("watchdog", "started")
    # The pool replaces the dead worker, and the stack goes on answering.
    next_call, _ = stack.call("get_weather", {"city": "Paris"}, chat_id)
    assert stack.answer(next_call).message["type"] == "tool_response"


def test_a_background_run_whose_worker_is_killed_has_its_fallback_said_once_past_its_time(stack: Stack) -> None:
    chat_id = stack.chat(allow_connection=False)
    key = uuid.uuid4().hex
    tool_call_id, _ = stack.call("background_hold", {"key": key}, chat_id)  # timeout=1
    assert stack.only_answer(tool_call_id).message["content"] == "Booking it."
    pid = int(wait_for(lambda: stack.redis.get(f"test:pid:{key}"), timeout=5))
    os.kill(pid, signal.SIGKILL)
    killed_at = time.time()
    record = wait_for(
        lambda: (found := read_call(stack.redis, tool_call_id)).get("background_status") == "lost" and found,
        timeout=15,
    )
    said = [item for item in stack.sim.get_chat(chat_id).received if item.message["type"] == "assistant_input"]
    assert [item.message["text"] for item in said] == ["The booking did not finish. Offer to try again."]
    assert "background_told_ms" in record
    print(f"\nbackground run's worker SIGKILLed: its fallback said {said[0].received_at - killed_at:.1f} s later")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "\nState:\tZ" not in status.read()
    except FileNotFoundError:
        return False


def test_sigterm_finishes_the_running_call_and_stops_the_pool(stack: Stack) -> None:
    """Last in this module: it stops the shared worker."""
    worker = stack.process("worker")
    assert worker.process is not None
    children = [w.pid for w in Worker.all(connection=stack.redis) if w.pid and _alive(w.pid)]
    assert len(children) >= POOL_SIZE
    chat_id = stack.chat()
    key = uuid.uuid4().hex
    tool_call_id, _ = stack.call("count_runs", {"key": key}, chat_id)
    wait_for(lambda: stack.redis.get(f"test:runs:{key}"))  # running now, for another 0.3 s
    os.kill(worker.process.pid, signal.SIGTERM)  # to the pool's own process only, as `docker stop` does
    assert stack.answer(tool_call_id).message["content"] == "1"  # warm shutdown: the running call finishes
    assert worker.process.wait(timeout=10) == 0
    assert [pid for pid in children if _alive(pid)] == []
