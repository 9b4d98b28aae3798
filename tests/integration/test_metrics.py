"""Metrics, as Prometheus scrapes them from the real processes: web, a worker pool of two, a relay, with the
simulator as Hume. Every call is counted once, by tool and outcome, across the three endpoints; the names pass
`promtool check metrics` (where promtool is installed); the processes' JSON log lines carry each call's fields.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from evi_toolhost.embedded_redis import EmbeddedRedis
from service.queue import contract
from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY
from tests.support.metrics import Scrape, add, scrape
from tests.support.servers import ServiceProcess, wait_for
from tests.support.stack import Stack
from tests.support.webhooks import signed, tool_call_payload

pytestmark = pytest.mark.integration

TOOL_MODULES = "examples.weather,tests.integration.tools"
CALLS: list[tuple[str, dict[str, Any], str, str]] = [
    # tool, arguments, outcome, code
    ("get_weather", {"city": "Paris"}, "answered", ""),
    ("get_weather", {"city": "Lyon"}, "answered", ""),
    ("lookup_order", {"order_id": "Z9"}, "tool_error", "order_not_found"),
    ("loyalty_points", {"member_id": "m1"}, "tool_error", "tool_failed"),
    ("get_weather", {"unit": "kelvin"}, "tool_error", "invalid_arguments"),
    ("no_such_tool", {}, "tool_error", "unknown_tool"),
    ("sleep_forever", {}, "timeout", "timeout"),
]
SOCKET_CALLS = 2
"""Also answered, over the relay's socket: get_weather."""


@pytest.fixture(scope="module")
def stack(redis_server: EmbeddedRedis) -> Iterator[Stack]:
    stack = Stack(redis_server.url, TOOL_MODULES, LOG_FORMAT="json").start()
    try:
        stack.start_worker(2, metrics=True)
        stack.start_relay(metrics=True)
        yield stack
    finally:
        stack.close()


@pytest.fixture(scope="module")
def calls(stack: Stack) -> list[str]:
    """Every call of `CALLS` by HTTP, `SOCKET_CALLS` over a socket, a duplicate and a forged webhook; once all are
    final (their records written after the answers), the ids of the calls made."""
    http_chat = stack.chat(allow_connection=False)
    ids = [stack.call(name, arguments, http_chat)[0] for name, arguments, _, _ in CALLS]
    socket_chat = stack.chat(allow_connection=True, announce=True)
    wait_for(lambda: stack.redis.hget(contract.socket_state(socket_chat), "state") == b"open", timeout=10)
    ids += [stack.call("get_weather", {"city": "Oslo"}, socket_chat)[0] for _ in range(SOCKET_CALLS)]
    stack.only_answers(ids)
    body, headers = signed(tool_call_payload(tool_call_id=ids[0], chat_id=http_chat), TEST_SIGNING_KEY)
    assert stack.http.post(f"{stack.web_url}/hume-webhook", content=body, headers=headers).status_code == 200
    body, headers = signed(tool_call_payload(chat_id=http_chat), "not-the-signing-key")
    assert stack.http.post(f"{stack.web_url}/hume-webhook", content=body, headers=headers).status_code == 401
    return ids


def scrapes(stack: Stack) -> tuple[Scrape, Scrape, Scrape]:
    worker, relay = stack.process("worker"), stack.process("relay")
    return scrape(f"{stack.web_url}/metrics"), scrape(worker.metrics_url), scrape(relay.metrics_url)


def expected_calls() -> dict[tuple[str, ...], float]:
    expected: dict[tuple[str, ...], float] = {}
    for name, _, outcome, _ in CALLS:
        key = ("unknown" if name == "no_such_tool" else name, outcome)
        expected[key] = expected.get(key, 0) + 1
    expected[("get_weather", "answered")] += SOCKET_CALLS
    return expected


def test_every_call_is_counted_once_by_tool_and_outcome_across_the_endpoints(stack: Stack, calls: list[str]) -> None:
    web, worker, relay = scrapes(stack)
    n = len(calls)
    assert web.by("evi_webhooks_total", "event", "outcome", "reason") == {
        ("tool_call", "queued", ""): n,
        ("tool_call", "duplicate", ""): 1,
        ("chat_started", "queued", ""): 1,
        ("unknown", "rejected", "invalid_signature"): 1,
    }
    assert web.value("evi_webhook_intake_seconds_count", event="tool_call") == n + 1
    counted = add(*(each.by("evi_tool_calls_total", "tool", "outcome") for each in (web, worker, relay)))
    assert counted == expected_calls()
    codes = worker.by("evi_tool_calls_total", "code", outcome="tool_error")
    assert codes == {(code,): 1 for _, _, outcome, code in CALLS if outcome == "tool_error"}
    transports = worker.by("evi_tool_calls_total", "transport")
    assert transports == {("http",): len(CALLS), ("socket",): SOCKET_CALLS}
    # Each answered call's time, queue wait and delivery; the handler's of each call whose handler ran.
    per_tool: dict[str, float] = {}
    for (tool, _), count in expected_calls().items():
        per_tool[tool] = per_tool.get(tool, 0) + count
    for tool, count in per_tool.items():
        for histogram in ("evi_tool_call_seconds", "evi_tool_queue_wait_seconds", "evi_tool_delivery_seconds"):
            assert worker.value(f"{histogram}_count", tool=tool) == count, (histogram, tool)
    assert worker.value("evi_tool_handler_seconds_count") == n - 2  # unknown tool, invalid arguments: not run
    assert worker.value("evi_tool_call_seconds_bucket", le="+Inf") == n
    assert worker.value("evi_tool_calls_in_flight") == 0
    assert relay.value("evi_relay_sends_total", outcome="sent") == SOCKET_CALLS
    assert relay.value("evi_relay_sockets", state="open") == 1


def test_the_scrape_reads_the_queues_the_live_workers_and_each_loop_s_lag(stack: Stack, calls: list[str]) -> None:
    web, worker, relay = scrapes(stack)
    assert web.by("evi_queue_depth", "queue") == {("evi-tools",): 0, ("evi-events",): 0}
    assert web.value("evi_workers") == 2
    lag = worker.by("evi_event_loop_lag_seconds", "pid")
    assert len(lag) == 2 and all(0 <= seconds < 1 for seconds in lag.values())
    assert 0 <= relay.value("evi_event_loop_lag_seconds") < 1


PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (Debian: apt-get install prometheus)")
def test_promtool_finds_nothing_to_fix_in_what_the_processes_export(stack: Stack, calls: list[str]) -> None:
    assert PROMTOOL is not None
    for exported in scrapes(stack):
        checked = subprocess.run([PROMTOOL, "check", "metrics"], input=exported.text, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def json_lines(process: ServiceProcess) -> list[dict[str, Any]]:
    lines = [line for line in process.output().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line: a JSON object
    assert all(isinstance(entry, dict) for entry in parsed)
    return parsed


def test_json_log_lines_carry_each_call_s_ids_outcome_and_durations(stack: Stack, calls: list[str]) -> None:
    entries = json_lines(stack.process("worker"))
    delivered = {entry["tool_call_id"]: entry for entry in entries if "delivered by" in entry["message"]}
    assert set(delivered) == set(calls)
    paris = delivered[calls[0]]
    assert (paris["tool"], paris["outcome"], paris["transport"], paris["level"]) == ("get_weather", "answered",
                                                                                      "http", "INFO")
    assert paris["chat_id"] and {"queue_wait_ms", "handler_ms", "delivery_ms", "total_ms"} <= paris.keys()
    assert paris["total_ms"] >= paris["handler_ms"] >= 0
    assert delivered[calls[2]]["code"] == "order_not_found"
    failed = [entry for entry in entries if entry.get("tool") == "loyalty_points" and "exception" in entry]
    assert failed and "ConnectionError" in failed[0]["exception"]
    for process in stack.processes:
        text = process.output()
        json_lines(process)
        assert TEST_API_KEY not in text and TEST_SIGNING_KEY not in text
