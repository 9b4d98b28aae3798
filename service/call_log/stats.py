"""Per tool, over a recent window (the last hour by default): how many calls, their p50 and p95 latency, their
error rate, and the same per slice of the window for small charts.

Read from the call log itself, newest first, at most `MAX_CALLS` calls (a busy deployment's hour is then the
newest part of it, and `calls_read` says so); Prometheus's histograms are the place for exact figures at scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from service.call_log.reading import read_records
from service.call_log.view import ERRORS, FINAL, latency_ms
from service.queue import contract
from service.redis_client import text

WINDOW_MS = 3_600_000
SLICES = 12
MAX_CALLS = 5_000
FIELDS = ("name", "status", "received_ms", "answered_ms")


def percentile(values: list[int], fraction: float) -> int | None:
    """The nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class _Tally:
    latencies: list[int] = field(default_factory=list)
    finished: int = 0
    errors: int = 0

    def add(self, record: dict[str, str]) -> None:
        status = record.get("status")
        if status not in FINAL or status == "not_required":
            return
        self.finished += 1
        self.errors += status in ERRORS
        latency = latency_ms(record)
        if latency is not None:
            self.latencies.append(latency)

    def figures(self) -> dict[str, Any]:
        return {
            "calls": self.finished,
            "errors": self.errors,
            "error_rate": round(self.errors / self.finished, 4) if self.finished else None,
            "p50_ms": percentile(self.latencies, 0.50),
            "p95_ms": percentile(self.latencies, 0.95),
        }


async def tool_stats(redis: Redis, now_ms: int, window_ms: int = WINDOW_MS, slices: int = SLICES) -> dict[str, Any]:
    """`{"window_ms", "slice_ms", "since_ms", "calls_read", "tools": {name: {calls, errors, error_rate, p50_ms,
    p95_ms, "slices": [same figures for each slice, oldest first]}}}`."""
    since = now_ms - window_ms
    slice_ms = window_ms // slices
    raw = await redis.zrevrangebyscore(contract.CALL_LOG, "+inf", since, 0, MAX_CALLS)
    ids = [str(text(item)) for item in raw]
    whole: dict[str, _Tally] = {}
    sliced: dict[str, list[_Tally]] = {}
    for _, record in await read_records(redis, ids, FIELDS):
        name = record.get("name", "?")
        whole.setdefault(name, _Tally()).add(record)
        try:
            at = int(record["received_ms"])
        except (KeyError, ValueError):
            continue
        index = min(max((at - since) // slice_ms, 0), slices - 1)
        sliced.setdefault(name, [_Tally() for _ in range(slices)])[index].add(record)
    tools = {
        name: {**tally.figures(), "slices": [part.figures() for part in sliced.get(name, [])]}
        for name, tally in sorted(whole.items())
        if tally.finished
    }
    return {"window_ms": window_ms, "slice_ms": slice_ms, "since_ms": since, "calls_read": len(ids), "tools": tools}
