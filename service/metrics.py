"""The web process's metrics: every webhook by event and outcome, the intake's latency, and, read from Redis when
scraped, the depth of each RQ queue and the live workers. `GET /metrics` serves them.

The intake is counted from outside (`observed`): the handler only notes which event it is (`note_event`), and
the outcome follows from the response, each refusal having one status code. Label values are bounded: event
names Hume defines (anything else is "unknown"), outcomes and reasons from fixed lists.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from service.observability import tracing
from service.observability.prometheus import BUCKETS, scrape_registry
from service.queue import contract
from service.redis_client import REQUEST_TIMEOUT_SECONDS

WEBHOOKS = Counter(
    "evi_webhooks",
    "Webhooks received, by event and outcome (queued, duplicate, ignored, rejected with its reason).",
    ["event", "outcome", "reason"],
)
INTAKE_SECONDS = Histogram(
    "evi_webhook_intake_seconds", "Time from a webhook's request start to its response.", ["event"], buckets=BUCKETS
)

REJECTIONS = {
    400: "malformed_json",
    401: "invalid_signature",
    413: "body_too_large",
    422: "invalid_payload",
    503: "unavailable",
}
"""Each refusal of the intake, by its status code (`service.webhooks`)."""
UNKNOWN_EVENT = "unknown"
_EVENT = "evi.event"

Endpoint = Callable[[Request], Awaitable[Response]]


def note_event(request: Request, event_name: str) -> None:
    """The webhook's event, once it is known to be one Hume defines."""
    request.scope[_EVENT] = event_name


def outcome_of(status_code: int, event: str) -> tuple[str, str]:
    """(outcome, reason) of a webhook answered with `status_code`."""
    if status_code == 202:
        return ("ignored", "") if event == UNKNOWN_EVENT else ("queued", "")
    if status_code == 200:
        return "duplicate", ""
    return "rejected", REJECTIONS.get(status_code, "internal_error")


_counted: dict[tuple[str, int], tuple[Counter, Histogram, str]] = {}


def _series(event: str, status_code: int) -> tuple[Counter, Histogram, str]:
    """The counter and histogram children of one (event, status), made once: `labels()` takes a lock."""
    series = _counted.get((event, status_code))
    if series is None:
        outcome, reason = outcome_of(status_code, event)
        series = (WEBHOOKS.labels(event, outcome, reason), INTAKE_SECONDS.labels(event), outcome)
        _counted[(event, status_code)] = series
    return series


def observed(endpoint: Endpoint) -> Endpoint:
    """`endpoint` (the webhook intake), counted and timed."""

    async def observe(request: Request) -> Response:
        started = time.perf_counter()
        status_code = 500
        try:
            response = await endpoint(request)
            status_code = response.status_code
            return response
        finally:
            counter, histogram, outcome = _series(request.scope.get(_EVENT, UNKNOWN_EVENT), status_code)
            counter.inc()
            histogram.observe(time.perf_counter() - started)
            tracing.set_attributes({"evi.outcome": outcome})

    return observe


class QueueState(Collector):
    """The depth of each RQ queue and the number of live RQ workers, as read just before the scrape."""

    def __init__(self, depths: dict[str, int], workers: int) -> None:
        self.depths = depths
        self.workers = workers

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("evi_queue_depth", "Jobs waiting in each RQ queue.", labels=["queue"])
        for queue, jobs in self.depths.items():
            depth.add_metric([queue], jobs)
        yield depth
        yield GaugeMetricFamily("evi_workers", "RQ workers registered and alive.", value=self.workers)


async def read_queue_state(redis: AsyncRedis) -> QueueState:
    """Two round trips: the queues' lengths with the registered workers, then which of those are alive (a worker's
    key expires when it stops heartbeating; RQ cleans its set of workers only now and then)."""
    async with redis.pipeline(transaction=False) as pipe:
        for queue in contract.WORKER_QUEUES:
            pipe.llen(contract.rq_queue(queue))
        pipe.smembers(contract.RQ_WORKERS)
        *lengths, registered = await pipe.execute()
    alive = 0
    if registered:
        async with redis.pipeline(transaction=False) as pipe:
            for key in registered:
                pipe.exists(key)
            alive = sum(await pipe.execute())
    return QueueState(dict(zip(contract.WORKER_QUEUES, lengths, strict=True)), alive)


async def metrics(request: Request) -> Response:
    """`GET /metrics`: this process's metrics (every uvicorn worker's, when there are several) and the queues'.
    Without Redis, the queues' gauges are left out and the rest is served."""
    body = generate_latest(scrape_registry())
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
            state = await read_queue_state(request.app.state.redis)
    except (RedisError, TimeoutError):
        pass
    else:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(state)
        body += generate_latest(registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
