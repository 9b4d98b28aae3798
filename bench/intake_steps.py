"""The intake's steps one at a time (signature check, JSON + validation, the enqueue, one LPUSH), each timed alone
in the benchmark's own process against the deployment's Redis: what one request's CPU is made of."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from bench.deployment import Deployment
from bench.harness import SIGNING_KEY
from service.evi.signing import verify
from service.evi.webhooks import webhook_event_adapter
from service.queue.enqueue import Enqueuer
from service.redis_client import connect_async
from tests.support.webhooks import signed, tool_call_payload


def step_costs(d: Deployment, count: int = 2000) -> dict[str, float]:
    """Microseconds per request of each intake step, run sequentially in this process against the same Redis."""
    requests = [
        signed(tool_call_payload("noop", {}, tool_call_id=f"toolu_step_{i:06d}"), SIGNING_KEY) for i in range(count)
    ]
    costs: dict[str, float] = {}

    def timed(name: str, step: Callable[[bytes, dict[str, str]], object]) -> None:
        started = time.perf_counter()
        for body, headers in requests:
            step(body, headers)
        costs[name] = (time.perf_counter() - started) / count * 1e6

    timed("verify", lambda body, headers: verify(body, headers, [SIGNING_KEY], 180))
    timed("json + validate", lambda body, headers: webhook_event_adapter.validate_python(json.loads(body)))
    events = [(webhook_event_adapter.validate_python(json.loads(body)), body) for body, _ in requests]

    async def redis_steps() -> None:
        redis = connect_async(d.redis_url)
        enqueuer = Enqueuer(redis, claim_ttl_seconds=60, record_ttl_seconds=60, default_timeout_seconds=10)
        try:
            await redis.ping()
            started = time.perf_counter()
            for event, body in events:
                await enqueuer.enqueue(event, body)
            costs["enqueue"] = (time.perf_counter() - started) / count * 1e6
            started = time.perf_counter()
            for _, body in events:
                enqueuer.templates["tool_call"].per_job_fields(body, "step")
            costs["job hash"] = (time.perf_counter() - started) / count * 1e6
            started = time.perf_counter()
            for body, _ in requests:
                await redis.lpush("bench:step", body)
            costs["lpush"] = (time.perf_counter() - started) / count * 1e6
        finally:
            await redis.aclose()

    try:
        asyncio.run(redis_steps())
    finally:
        d.flush_redis()
    return costs
