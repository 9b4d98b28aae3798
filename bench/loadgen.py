"""An HTTP/1.1 load generator: N keep-alive connections, one request in flight on each.

Closed loop by default (each connection sends its next request as soon as the last is answered: the maximum
rate); with `--rate R`, open loop: request *i* is due at *start + i/R* whatever happened to earlier ones, goes
out on the first idle connection, and its latency counts from when it was due (so a slow answer that delays
later requests shows in their latency too, no coordinated omission).

Run as its own process by `bench.intake` (so its CPU use is its own, and two can run side by side):

    python -m bench.loadgen --port P --connections 32 --warmup 2 --duration 10 --count 60000 --prefix g0
    python -m bench.loadgen --port P --connections 32 --rate 1000 ...

Every request is a signed `tool_call` webhook with a unique `tool_call_id`, all built (JSON, HMAC,
HTTP framing) before the first one is sent; the timed part only writes prepared bytes and parses the
status line and Content-Length of each response. asyncio Protocols on uvloop (when installed) rather
than streams or an HTTP client library: a few microseconds of client CPU per request, measured and
reported (`generator_cpu`), so it is visible whether the generator or the server is the bottleneck.

Prints one JSON object on stdout: completed requests and their latencies in the timed window, status
counts, and the CPU use (fraction of one core) of this process and of the `--watch-pid` processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from collections import Counter, deque
from typing import Any

from bench.harness import API_KEY, SIGNING_KEY, percentile
from bench.processes import cpu_split
from tests.support.webhooks import signed, tool_call_payload


def build_requests(args: argparse.Namespace) -> list[bytes]:
    now = int(time.time())
    host = f"{args.host}:{args.port}".encode()
    requests = []
    for i in range(args.count):
        payload = tool_call_payload(
            args.tool,
            {},
            tool_call_id=f"toolu_{args.prefix}_{i:08d}",
            chat_id=args.chat_id,
            timestamp_ms=now * 1000,
        )
        body, headers = signed(payload, SIGNING_KEY if args.key == "signing" else API_KEY, now)
        head = [f"POST {args.path} HTTP/1.1".encode(), b"Host: " + host]
        head += [f"{name}: {value}".encode() for name, value in headers.items()]
        head.append(f"Content-Length: {len(body)}".encode())
        requests.append(b"\r\n".join(head) + b"\r\n\r\n" + body)
    return requests


class Run:
    def __init__(self, requests: list[bytes], cycle: bool, warmup_end: float, end: float) -> None:
        self.requests = requests
        self.cycle = cycle
        self.next_index = 0
        self.exhausted = False
        self.warmup_end = warmup_end
        self.end = end
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.warmup_completed = 0
        self.errors: Counter[str] = Counter()
        self.idle: deque[Connection] | None = None
        """Open loop: the connections waiting for a request (None: closed loop)."""
        self.late = 0
        """Open loop: requests that found no idle connection when due (sent as soon as one was)."""

    def next_request(self) -> bytes | None:
        if self.next_index >= len(self.requests):
            if not self.cycle:
                self.exhausted = True
                return None
            self.next_index = 0
        request = self.requests[self.next_index]
        self.next_index += 1
        return request


class Connection(asyncio.Protocol):
    def __init__(self, run: Run, done: asyncio.Future[None]) -> None:
        self.run = run
        self.done = done
        self.buffer = bytearray()
        self.need: int | None = None
        self.status = 0
        self.sent_at = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio's classes
        if self.run.idle is None:
            self.send_next()
        else:
            self.run.idle.append(self)

    def send_next(self) -> None:
        assert self.transport is not None
        now = time.perf_counter()
        request = self.run.next_request() if now < self.run.end else None
        if request is None:
            self.transport.close()
            return
        self.send(request, now)

    def send(self, request: bytes, due: float) -> None:
        assert self.transport is not None
        self.buffer.clear()
        self.need = None
        self.sent_at = due
        self.transport.write(request)

    def answered(self) -> None:
        if self.run.idle is None:
            self.send_next()
        elif time.perf_counter() < self.run.end:
            self.run.idle.append(self)
        else:
            assert self.transport is not None
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if self.need is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).lower()
            self.status = int(head[9:12])
            at = head.find(b"content-length:")
            length = 0
            if at >= 0:
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15 : stop if stop >= 0 else len(head)])
            self.need = end + 4 + length
        if len(buffer) >= self.need:
            finished = time.perf_counter()
            run = self.run
            if run.warmup_end <= finished < run.end:
                run.latencies.append(finished - self.sent_at)
                run.statuses[self.status] += 1
            elif finished < run.warmup_end:
                run.warmup_completed += 1
            self.answered()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.run.idle is not None and self in self.run.idle:
            self.run.idle.remove(self)
        if exc is not None:
            self.run.errors[type(exc).__name__] += 1
        if not self.done.done():
            self.done.set_result(None)


async def send_at_rate(run: Run, rate: float, start: float) -> None:
    """Send request i at start + i/rate on the first idle connection, until the run ends."""
    sent = 0
    while True:
        now = time.perf_counter()
        if now >= run.end:
            return
        while sent < (now - start) * rate:
            due = start + sent / rate
            if not run.idle:
                run.late += 1
                while not run.idle and time.perf_counter() < run.end:
                    await asyncio.sleep(0.0002)
                if not run.idle:
                    return
            request = run.next_request()
            if request is None:
                return
            run.idle.popleft().send(request, due)  # oldest first: no connection idles into a keep-alive timeout
            sent += 1
        await asyncio.sleep(max(0.0, start + sent / rate - time.perf_counter()))


async def main_async(args: argparse.Namespace, requests: list[bytes]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    if args.start_at:
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
    start = time.perf_counter()
    run = Run(requests, args.cycle, start + args.warmup, start + args.warmup + args.duration)
    if args.rate:
        run.idle = deque()
    window: dict[str, Any] = {}

    def mark(name: str) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        window[name] = {
            "t": time.perf_counter(),
            "self": usage.ru_utime + usage.ru_stime,
            "watched": {str(pid): cpu_split(pid) for pid in args.watch_pid},
        }

    loop.call_at(loop.time() + args.warmup, mark, "start")
    loop.call_at(loop.time() + args.warmup + args.duration, mark, "end")
    dones = []
    for _ in range(args.connections):
        done: asyncio.Future[None] = loop.create_future()
        try:
            await loop.create_connection(lambda d=done: Connection(run, d), args.host, args.port)  # type: ignore[misc]
        except OSError as exc:
            run.errors[type(exc).__name__] += 1
            done.set_result(None)
        dones.append(done)
    if run.idle is not None:
        await send_at_rate(run, args.rate, start)
        for connection in run.idle:
            if connection.transport is not None:
                connection.transport.close()
    await asyncio.wait_for(asyncio.gather(*dones), timeout=args.warmup + args.duration + 30)
    if "end" not in window:
        mark("end")
    wall = window["end"]["t"] - window["start"]["t"]
    completed = len(run.latencies)
    return {
        "connections": args.connections,
        "completed": completed,
        "warmup_completed": run.warmup_completed,
        "wall": wall,
        "rps": completed / wall if wall > 0 else 0.0,
        "p50_ms": percentile(run.latencies, 50) * 1000,
        "p99_ms": percentile(run.latencies, 99) * 1000,
        "statuses": {str(k): v for k, v in run.statuses.items()},
        "errors": dict(run.errors),
        "exhausted": run.exhausted,
        "generator_cpu": (window["end"]["self"] - window["start"]["self"]) / wall,
        "watched_cpu": {
            pid: (sum(window["end"]["watched"][pid]) - sum(window["start"]["watched"][pid])) / wall
            for pid in window["start"]["watched"]
        },
        "watched_sys": {
            pid: (window["end"]["watched"][pid][1] - window["start"]["watched"][pid][1]) / wall
            for pid in window["start"]["watched"]
        },
        "loop": type(loop).__module__.split(".")[0],
        "rate": args.rate,
        "late": run.late,
        "requests_prepared": len(requests),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", default="/hume-webhook")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=60000, help="unique requests to prepare")
    parser.add_argument("--rate", type=float, default=0.0, help="open loop at this many requests/s (0: closed loop)")
    parser.add_argument("--cycle", action="store_true", help="reuse the prepared requests when they run out")
    parser.add_argument("--prefix", default="g0", help="makes tool_call_ids unique across generators")
    parser.add_argument("--chat-id", default="bench-intake-chat")
    parser.add_argument("--tool", default="noop")
    parser.add_argument("--key", choices=["signing", "api"], default="signing")
    parser.add_argument("--start-at", type=float, default=0.0, help="epoch seconds to begin (to line up generators)")
    parser.add_argument("--wait-go", action="store_true", help="print 'ready' to stderr, read the start time on stdin")
    parser.add_argument("--watch-pid", type=int, action="append", default=[], help="report this process's CPU use")
    args = parser.parse_args()
    requests = build_requests(args)
    if args.wait_go:
        # Tell the parent the requests are built, then start at the epoch time it sends back.
        print("ready", file=sys.stderr, flush=True)
        line = sys.stdin.readline().strip()
        args.start_at = float(line) if line else 0.0
    import uvloop  # comes with uvicorn[standard]

    result = uvloop.run(main_async(args, requests))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    os._exit(0)  # skip freeing the prepared requests one by one


if __name__ == "__main__":
    sys.exit(main())
