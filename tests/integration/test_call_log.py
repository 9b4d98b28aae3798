"""The call log on real processes (web, two workers, a relay, at LOG_LEVEL=DEBUG): what each call's record holds,
`evi-toolhost calls` over it, and a redacted argument that appears nowhere: no record, no Redis key, no RQ job,
no log line of any process, no `calls` output, no ops API answer."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
import zlib
from collections.abc import Iterator

import httpx
import pytest
from redis import Redis

from evi_toolhost.embedded_redis import EmbeddedRedis
from service.queue import contract
from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY
from tests.support.servers import wait_for
from tests.support.stack import Stack
from tests.support.webhooks import tool_call_payload

pytestmark = pytest.mark.integration

OPS_TOKEN = "ops-token-made-up-for-the-tests"


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    stack = Stack(redis_server.url, "tests.integration.call_log_tools", log_level="DEBUG", OPS_TOKEN=OPS_TOKEN)
    stack.start()
    try:
        stack.start_worker(2, metrics=True)
        stack.start_relay(metrics=True)
        yield stack
    finally:
        outputs = stack.close()
    for output in outputs:
        assert TEST_API_KEY not in output and TEST_SIGNING_KEY not in output and OPS_TOKEN not in output


def lines_of(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.splitlines()


def test_calls_json_lists_the_last_five_calls_newest_first_with_their_outcomes(stack: Stack) -> None:
    chat_id = stack.chat(allow_connection=False)
    start = int(time.time() * 1000)  # after every call made before: these are the newest
    made = [
        ("lookup_order", {"order_id": "A-1"}),  # one more than listed: the oldest is left out
        ("lookup_order", {"order_id": "A-2", "delay_ms": 50}),
        ("lookup_order", {"order_id": "missing-3"}),
        ("slow_report", {"seconds": 5}),
        ("no_such_tool", {}),
        ("lookup_order", {"order_id": 7}),
    ]
    ids = [
        stack.call(name, arguments, chat_id, timestamp_ms=start + index)[0]
        for index, (name, arguments) in enumerate(made)
    ]
    records = {call_id: stack.record(call_id) for call_id in ids}
    listed = [json.loads(line) for line in lines_of(stack.cli("calls", "--json", "--limit", "5"))]
    assert [call["tool_call_id"] for call in listed] == ids[:0:-1]
    assert [(call["tool"], call["status"], call["code"]) for call in listed] == [
        ("lookup_order", "failed", "invalid_arguments"),
        ("no_such_tool", "failed", "unknown_tool"),
        ("slow_report", "timeout", "timeout"),
        ("lookup_order", "failed", "unknown_order"),
        ("lookup_order", "answered", None),
    ]
    for call in listed:
        record = records[call["tool_call_id"]]
        assert call["latency_ms"] == int(record["answered_ms"]) - int(record["received_ms"]) > 0
        assert call["transport"] == "http" and call["chat_id"] == chat_id
    table = lines_of(stack.cli("calls", "--limit", "5", "--tool", "lookup_order"))
    assert table[0].split()[:3] == ["RECEIVED", "TOOL", "STATUS"] and len(table) == 5
    assert ids[0] in table[-1] and "answered" in table[-1]


def test_a_record_holds_arguments_answer_worker_timings_and_show_prints_them(stack: Stack) -> None:
    chat_id = stack.chat(allow_connection=False)
    call_id, _ = stack.call("lookup_order", {"order_id": "B-1", "delay_ms": 200}, chat_id)
    record = stack.record(call_id)
    assert json.loads(record["arguments"]) == {"order_id": "B-1", "delay_ms": 200}
    assert json.loads(record["content"]) == {"order_id": "B-1", "status": "shipped"}
    keys = stack.redis.smembers(contract.RQ_WORKERS)
    workers = {key.decode().removeprefix(contract.RQ_WORKER_PREFIX) for key in keys}
    assert record["worker"] in workers
    times = [int(record[f]) for f in ("received_ms", "queued_ms", "job_started_ms", "started_ms", "finished_ms")]
    assert times == sorted(times) and int(record["finished_ms"]) - int(record["started_ms"]) >= 200
    assert record["delivery_attempts"] == "1"
    shown = stack.cli("calls", "show", call_id).stdout
    assert f"tool call {call_id}: lookup_order, answered (tool_response) in " in shown
    for line in ("  worker       " + record["worker"], '  arguments    {"order_id": "B-1", "delay_ms": 200}'):
        assert line in shown
    timing = shown.split("\ntiming\n")[1].split("\nrecord\n")[0].splitlines()
    assert [line.split()[0] for line in timing] == ["to", "queued", "pickup", "handler", "delivery", "total"]
    whole = json.loads(stack.cli("calls", "show", call_id, "--json").stdout)
    assert whole["timings_ms"]["handler"] >= 200 and whole["answer"]["type"] == "tool_response"
    assert stack.cli("calls", "show", "toolu_never_seen").returncode == 1


def test_dedupe_hits_delivery_retries_and_the_socket_are_recorded(stack: Stack) -> None:
    http_chat = stack.chat(allow_connection=False)
    payload = tool_call_payload("lookup_order", {"order_id": "C-1"}, chat_id=http_chat)
    stack.sim.fail_next_sends(http_chat, [503, 503])  # the answer goes out at the third send
    stack.post(payload)
    assert stack.post(payload).status_code == 200  # the same delivery again: a duplicate
    call_id = payload["tool_call_message"]["tool_call_id"]
    record = stack.record(call_id)
    assert (record["dedupe_hits"], record["delivery_attempts"], record["transport"]) == ("1", "3", "http")
    assert "  delivery     3 attempt(s)" in stack.cli("calls", "show", call_id).stdout

    socket_chat = stack.chat(allow_connection=True, announce=True)
    wait_for(lambda: stack.redis.hget(contract.socket_state(socket_chat), "state") == b"open")
    call_id, _ = stack.call("lookup_order", {"order_id": "C-2"}, socket_chat)
    assert stack.record(call_id)["transport"] == "socket"


def test_calls_tail_prints_each_new_call_as_it_finishes(stack: Stack) -> None:
    chat_id = stack.chat(allow_connection=False)
    tail = subprocess.Popen(
        [sys.executable, "-m", "evi_toolhost", "calls", "tail", "--json", "--count", "2", "--seconds", "30"],
        env={**stack.process("web").env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert tail.stderr is not None and "following new calls" in tail.stderr.readline()
        first, _ = stack.call("slow_report", {"seconds": 0.5}, chat_id)
        second, _ = stack.call("lookup_order", {"order_id": "D-1"}, chat_id)
        out, _ = tail.communicate(timeout=30)
    finally:
        tail.kill()
    followed = [json.loads(line) for line in out.splitlines()]
    assert tail.returncode == 0
    assert [(call["tool_call_id"], call["status"]) for call in followed] == [(second, "answered"), (first, "answered")]


def test_the_ops_api_gives_the_same_calls_and_refuses_without_the_token(stack: Stack) -> None:
    chat_id = stack.chat(allow_connection=False)
    call_id, _ = stack.call("lookup_order", {"order_id": "E-1"}, chat_id)
    record = stack.record(call_id)
    url = f"{stack.web_url}/ops/api/calls"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    bearer = {"Authorization": f"Bearer {OPS_TOKEN}"}
    listed = httpx.get(url, params={"chat": chat_id}, headers=bearer).json()["calls"]
    assert [(c["tool_call_id"], c["status"]) for c in listed] == [(call_id, "answered")]
    one = httpx.get(f"{url}/{call_id}", headers=bearer).json()
    assert one["latency_ms"] == int(record["answered_ms"]) - int(record["received_ms"])
    assert httpx.get(f"{url}/toolu_nothing", headers=bearer).status_code == 404
    assert httpx.get(url, params={"since": "yesterday"}, headers=bearer).status_code == 422


# --- a redacted argument -----------------------------------------------------------------------------------------


def every_value(redis: Redis) -> Iterator[bytes]:
    """Every key and value in Redis, RQ's zlib-compressed job payloads decompressed."""
    for key in redis.scan_iter(count=1000):
        yield key
        kind = redis.type(key).decode()
        if kind == "string":
            values = [redis.get(key)]
        elif kind == "hash":
            values = [item for pair in redis.hgetall(key).items() for item in pair]
        elif kind == "list":
            values = redis.lrange(key, 0, -1)
        elif kind == "set":
            values = list(redis.smembers(key))
        elif kind == "zset":
            values = [member for member, _ in redis.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            values = [item for _, entry in redis.xrange(key) for pair in entry.items() for item in pair]
        else:
            raise AssertionError(f"{key!r} is a {kind}: read it too")
        for value in values:
            if value is None:
                continue
            yield value
            try:
                inflated = zlib.decompress(value)
            except zlib.error:
                continue
            yield inflated


def test_a_redacted_argument_appears_in_no_record_job_log_output_api_answer_or_metric(stack: Stack) -> None:
    sentinel = f"4929{uuid.uuid4().int % 10**12:012d}"
    chat_id = stack.chat(allow_connection=True, announce=True)
    wait_for(lambda: stack.redis.hget(contract.socket_state(chat_id), "state") == b"open")
    charged, _ = stack.call("pay", {"card_number": sentinel, "amount": 12}, chat_id)
    raised, _ = stack.call("pay", {"card_number": sentinel, "amount": -1}, chat_id)
    mistyped, _ = stack.call("pay", {"card_number": int(sentinel), "amount": 3}, chat_id)
    # EVI streams tool calls on the chat's socket too, where the relay reads (and, at DEBUG, logs) each frame.
    arguments = json.dumps({"card_number": sentinel, "amount": 4})
    on_socket = stack.sim.add_tool_call(chat_id, name="pay", parameters=arguments)
    outcomes = {call_id: stack.record(call_id) for call_id in (charged, raised, mistyped, on_socket.tool_call_id)}
    assert [(r["status"], r.get("error_code")) for r in outcomes.values()] == [
        ("answered", None),
        ("failed", "tool_failed"),
        ("failed", "invalid_arguments"),
        ("answered", None),
    ]
    assert outcomes[charged]["content"] == f"Charged 12 to the card ending {sentinel[-4:]}."
    for record in outcomes.values():
        assert json.loads(record["arguments"])["card_number"] == "[redacted]"
        assert record["redacted"] == "card_number"
    # RQ writes a job's hash back once the job is done: wait for that before looking at every key.
    job_ids = [contract.job_id("tool_call", call_id) for call_id in outcomes]
    wait_for(lambda: all(stack.redis.hget(contract.rq_job(job), "status") == b"finished" for job in job_ids))
    values = list(every_value(stack.redis))
    assert any(b"[redacted]" in value for value in values), "the redacted arguments were read"
    assert not [value for value in values if sentinel.encode() in value]

    outputs = [
        stack.cli("calls", "--json", "--limit", "10").stdout,
        stack.cli("calls", "--limit", "10").stdout,
        *(stack.cli("calls", "show", call_id).stdout for call_id in outcomes),
        *(stack.cli("calls", "show", call_id, "--json").stdout for call_id in outcomes),
        *(
            httpx.get(f"{stack.web_url}/ops/api/calls/{call_id}", headers={"Authorization": f"Bearer {OPS_TOKEN}"}).text
            for call_id in outcomes
        ),
    ]
    assert all(charged in output or "arguments" in output for output in outputs)
    assert not [output for output in outputs if sentinel in output]

    scraped = [
        httpx.get(f"{stack.web_url}/metrics").text,
        httpx.get(str(stack.process("worker").metrics_url)).text,
        httpx.get(str(stack.process("relay").metrics_url)).text,
    ]
    assert all("evi_" in text for text in scraped)
    assert 'tool="pay"' in scraped[1]
    assert not [text for text in scraped if sentinel in text]

    # The worker logged each call's end (and, at DEBUG, much more): nothing of any process quotes the card.
    def logged() -> list[str]:
        texts = [process.output_so_far() for process in stack.processes]
        return texts if all(any(call_id in text for text in texts) for call_id in outcomes) else []

    logs = wait_for(logged)
    joined = "\n".join(logs)
    assert "charging *** for 12" in joined and "ValueError: card *** cannot be charged -1" in joined
    assert "< TEXT (a tool_call: content not logged)" in joined
    assert sentinel not in joined
