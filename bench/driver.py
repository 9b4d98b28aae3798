"""Playing EVI against a webhook URL: signed tool calls sent on a schedule, answers read at the simulator.

The simulator runs as its own process; its admin API (`/_sim`) starts chats and reports what its
control plane received, with `received_at` (epoch seconds, same machine clock as ours) and `transport`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.harness import API_KEY, SIGNING_KEY, BenchError, summary_ms
from service.evi.webhooks import WebhookEvent
from service.queue.enqueue import Enqueued, Enqueuer
from service.redis_client import connect_async
from tests.support.webhooks import chat_started_payload, signed, tool_call_payload

ADMIN_HEADERS = {"X-Hume-Api-Key": API_KEY}
TOOL_TIMEOUT_SECONDS = 10.0
"""The default `TOOL_TIMEOUT_SECONDS`, for calls queued by the bench itself."""


@dataclass
class Call:
    tool_call_id: str
    body: bytes
    headers: dict[str, str]
    sent_at: float = 0.0
    status: int = 0
    error: str | None = None


@dataclass
class Outcome:
    calls: list[Call]
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """tool_call_id -> the first answer the simulator received for it."""

    def round_trips(self) -> list[float]:
        return [
            self.answers[c.tool_call_id]["received_at"] - c.sent_at
            for c in self.calls
            if c.tool_call_id in self.answers
        ]

    def summary(self) -> dict[str, float]:
        return summary_ms(self.round_trips())

    def missing(self) -> int:
        return sum(1 for c in self.calls if c.tool_call_id not in self.answers)

    def transports(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for answer in self.answers.values():
            counts[answer["transport"]] = counts.get(answer["transport"], 0) + 1
        return counts

    def answer_types(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for answer in self.answers.values():
            kind = answer["message"].get("type", "?")
            code = answer["message"].get("code")
            key = f"{kind}:{code}" if code else kind
            counts[key] = counts.get(key, 0) + 1
        return counts

    def bad_statuses(self) -> int:
        return sum(1 for c in self.calls if not 200 <= c.status < 300)


def start_chat(sim_url: str, *, allow_connection: bool) -> str:
    response = httpx.post(
        f"{sim_url}/_sim/chats", json={"allow_connection": allow_connection}, headers=ADMIN_HEADERS, timeout=5
    )
    response.raise_for_status()
    return str(response.json()["id"])


def received_count(sim_url: str, chat_id: str) -> int:
    response = httpx.get(f"{sim_url}/_sim/chats/{chat_id}", headers=ADMIN_HEADERS, timeout=5)
    response.raise_for_status()
    return int(response.json()["received_count"])


def received(sim_url: str, chat_id: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{sim_url}/_sim/chats/{chat_id}/received", headers=ADMIN_HEADERS, timeout=30)
    response.raise_for_status()
    return list(response.json()["received"])


def make_calls(chat_id: str, tool: str, count: int, prefix: str) -> list[Call]:
    """`count` signed tool calls for `tool` in `chat_id`, built now (before anything is timed)."""
    now = int(time.time())
    calls = []
    for i in range(count):
        tool_call_id = f"toolu_{prefix}_{i:06d}_{now}"
        payload = tool_call_payload(tool, {}, tool_call_id=tool_call_id, chat_id=chat_id, timestamp_ms=now * 1000)
        body, headers = signed(payload, SIGNING_KEY, now)
        calls.append(Call(tool_call_id, body, headers))
    return calls


def post_chat_started(webhook_url: str, chat_id: str) -> int:
    body, headers = signed(chat_started_payload(chat_id), SIGNING_KEY)
    return httpx.post(webhook_url, content=body, headers=headers, timeout=5).status_code


class _Connection:
    """One HTTP/1.1 keep-alive connection on asyncio streams: write prepared bytes, read one response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        head = (await self.reader.readuntil(b"\r\n\r\n")).lower()
        at = head.find(b"content-length:")
        length = int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0
        if length:
            await self.reader.readexactly(length)
        return int(head[9:12])

    def close(self) -> None:
        self.writer.close()


def _raw_requests(url: str, calls: list[Call]) -> tuple[str, int, list[bytes]]:
    parsed = httpx.URL(url)
    host, port = parsed.host, parsed.port or 80
    raws = []
    for call in calls:
        head = [f"POST {parsed.raw_path.decode()} HTTP/1.1", f"Host: {host}:{port}"]
        head += [f"{name}: {value}" for name, value in call.headers.items()]
        head.append(f"Content-Length: {len(call.body)}")
        raws.append("\r\n".join(head).encode() + b"\r\n\r\n" + call.body)
    return host, port, raws


async def _exchange(connection: _Connection, call: Call, raw: bytes) -> None:
    call.sent_at = time.time()
    try:
        call.status = await connection.exchange(raw)
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        call.error = type(exc).__name__


async def _at_rate(url: str, calls: list[Call], rate: float) -> None:
    host, port, raws = _raw_requests(url, calls)
    idle: list[_Connection] = []
    opened: list[_Connection] = []

    async def one(call: Call, raw: bytes) -> None:
        if idle:
            connection = idle.pop()
        else:
            connection = await _Connection.open(host, port)
            opened.append(connection)
        await _exchange(connection, call, raw)
        if call.error is None:
            idle.append(connection)

    loop = asyncio.get_running_loop()
    tasks = []
    try:
        start = loop.time() + 0.05
        for i, (call, raw) in enumerate(zip(calls, raws, strict=True)):
            delay = start + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(call, raw)))
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)
    finally:
        for connection in opened:
            connection.close()


async def _all_at_once(url: str, calls: list[Call]) -> None:
    host, port, raws = _raw_requests(url, calls)
    # Open every connection first, so "at once" is not serialised behind TCP handshakes.
    connections = await asyncio.gather(*(_Connection.open(host, port) for _ in calls))
    try:
        await asyncio.wait_for(
            asyncio.gather(*(_exchange(c, call, raw) for c, call, raw in zip(connections, calls, raws, strict=True))),
            timeout=120,
        )
    finally:
        for connection in connections:
            connection.close()


def send_at_rate(url: str, calls: list[Call], rate: float) -> None:
    """Open loop: call i is sent at start + i / rate, whatever happened to the previous ones."""
    asyncio.run(_at_rate(url, calls, rate))


def send_all_at_once(url: str, calls: list[Call]) -> None:
    asyncio.run(_all_at_once(url, calls))


def collect(sim_url: str, chat_id: str, calls: list[Call], timeout: float, procs: Any = ()) -> Outcome:
    """Wait (bounded) until every call has an answer at the simulator; the outcome either way."""
    deadline = time.monotonic() + timeout
    while received_count(sim_url, chat_id) < len(calls) and time.monotonic() < deadline:
        for proc in procs:
            proc.check_alive()
        time.sleep(0.1)
    outcome = Outcome(calls)
    wanted = {c.tool_call_id for c in calls}
    for item in received(sim_url, chat_id):
        call_id = str(item["message"].get("tool_call_id"))
        if call_id in wanted and call_id not in outcome.answers:
            outcome.answers[call_id] = item
    if not outcome.answers and calls:
        raise BenchError(f"no answer reached the simulator for chat {chat_id} within {timeout:g} s")
    return outcome


def queue_as_the_web(
    redis_url: str, events: Sequence[WebhookEvent], *, timeout_seconds: float = TOOL_TIMEOUT_SECONDS
) -> list[Enqueued]:
    """Queue `events` one after another exactly as the web process does (`Enqueuer`, one Lua round trip each);
    `timeout_seconds` is the deadline of a tool no worker has published a timeout for yet."""

    async def queue_all() -> list[Enqueued]:
        redis = connect_async(redis_url)
        try:
            enqueuer = Enqueuer(
                redis, claim_ttl_seconds=86400, record_ttl_seconds=86400, default_timeout_seconds=timeout_seconds
            )
            return [await enqueuer.enqueue(event) for event in events]
        finally:
            await redis.aclose()

    return asyncio.run(queue_all())
