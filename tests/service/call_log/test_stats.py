"""Per tool over the last hour: calls, p50/p95 latency, error rate, whole and per slice."""

from __future__ import annotations

import asyncio

import fakeredis

from service.call_log.stats import percentile, tool_stats
from tests.service.call_log.seeding import seed

NOW = 1_800_000_000_000
HOUR = 3_600_000


def test_percentile_is_the_nearest_rank() -> None:
    values = list(range(1, 101))
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile([7], 0.95), percentile([], 0.5)) == (
        50,
        95,
        7,
        None,
    )


def test_each_tool_s_latency_and_errors_over_the_hour_and_per_slice(
    fake_redis: fakeredis.FakeRedis, fake_aredis: fakeredis.FakeAsyncRedis
) -> None:
    for index in range(20):  # in the last five minutes: 100, 110, ... 290 ms
        seed(fake_redis, f"recent-{index}", NOW - 60_000 + index, latency=100 + 10 * index)
    seed(fake_redis, "early-fail", NOW - HOUR + 1000, status="failed", latency=50)
    seed(fake_redis, "timed-out", NOW - 30_000, name="slow_report", status="timeout", latency=1200)
    seed(fake_redis, "running", NOW - 100, status="running")  # not finished: counts nowhere yet
    seed(fake_redis, "builtin", NOW - 100, name="web_search", status="not_required")  # nothing was run
    seed(fake_redis, "too-old", NOW - HOUR - 1000, status="failed")
    stats = asyncio.run(tool_stats(fake_aredis, NOW))
    assert sorted(stats["tools"]) == ["lookup_order", "slow_report"]
    lookup = stats["tools"]["lookup_order"]
    assert {k: lookup[k] for k in ("calls", "errors", "error_rate", "p50_ms", "p95_ms")} == {
        "calls": 21,
        "errors": 1,
        "error_rate": round(1 / 21, 4),
        "p50_ms": 190,
        "p95_ms": 280,
    }
    first, *middle, last = lookup["slices"]
    assert (first["calls"], first["errors"], first["p95_ms"]) == (1, 1, 50)
    assert all(part["calls"] == 0 and part["p95_ms"] is None for part in middle)
    assert (last["calls"], last["errors"], last["p50_ms"]) == (20, 0, 190)
    assert stats["tools"]["slow_report"]["error_rate"] == 1.0
    assert (stats["calls_read"], stats["slice_ms"]) == (24, 300_000)  # all in the hour, finished or not
