"""The ops JSON API, the same data as `evi-toolhost calls` gives:

- `GET /ops/api/calls?tool=&status=&chat=&since=&limit=`: the newest calls matching, newest first (summaries);
- `GET /ops/api/calls/{id}`: one call's whole record with its timing breakdown;
- `GET /ops/api/overview`: calls in flight, the newest 100 calls, workers, queues, active chats;
- `GET /ops/api/stats`: per tool over the last hour, p50/p95 latency and error rate, whole and per 5 minutes.

Each request's Redis work is bounded in time (503 when Redis does not answer) and in size (a filtered listing
looks at `MAX_SCANNED` calls at most, and says when it stopped early).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.call_log.query import BadQuery, CallQuery, parse_since
from service.call_log.reading import read_call, recent
from service.call_log.stats import tool_stats
from service.call_log.view import SUMMARY_FIELDS, detail, summary
from service.evi.timestamps import now_ms
from service.ops.overview import overview
from service.responses import error_response

MAX_LIMIT = 500
MAX_SCANNED = 20_000
TIMEOUT_SECONDS = 5.0
STATS_CACHE_SECONDS = 5.0
"""Several open pages share one reading of the last hour."""


def _redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


def _unavailable(exc: Exception) -> Response:
    return error_response(503, "redis_unavailable", f"Redis does not answer ({type(exc).__name__})")


def query_from(params: dict[str, str]) -> CallQuery:
    """The listing's query from URL parameters; `BadQuery` naming a parameter that does not fit."""
    raw_limit = params.get("limit", "100")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        raise BadQuery(f"limit must be a whole number from 1 to {MAX_LIMIT}, not {raw_limit!r}")
    since = params.get("since")
    return CallQuery(
        tool=params.get("tool") or None,
        status=params.get("status") or None,
        chat=params.get("chat") or None,
        since_ms=parse_since(since, now_ms()) if since else None,
        limit=int(raw_limit),
    )


async def calls_endpoint(request: Request) -> Response:
    try:
        query = query_from(dict(request.query_params))
    except BadQuery as exc:
        return error_response(422, "invalid_query", str(exc))
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            listing = await recent(_redis(request), query, fields=SUMMARY_FIELDS, max_scanned=MAX_SCANNED)
    except (RedisError, TimeoutError) as exc:
        return _unavailable(exc)
    calls = [summary(call_id, record) for call_id, record in listing.calls]
    return JSONResponse({"calls": calls, "scanned": listing.scanned, "complete": listing.complete})


async def call_endpoint(request: Request) -> Response:
    call_id = request.path_params["call_id"]
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            record = await read_call(_redis(request), call_id)
    except (RedisError, TimeoutError) as exc:
        return _unavailable(exc)
    if record is None:
        return error_response(404, "not_found", f"no record of tool call {call_id!r} (or it expired)")
    return JSONResponse(detail(call_id, record))


async def overview_endpoint(request: Request) -> Response:
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            return JSONResponse(await overview(_redis(request), now_ms()))
    except (RedisError, TimeoutError) as exc:
        return _unavailable(exc)


async def stats_endpoint(request: Request) -> Response:
    state = request.app.state
    cached: tuple[float, dict[str, Any]] | None = getattr(state, "ops_stats", None)
    if cached is not None and time.monotonic() - cached[0] < STATS_CACHE_SECONDS:
        return JSONResponse(cached[1])
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            stats = await tool_stats(_redis(request), now_ms())
    except (RedisError, TimeoutError) as exc:
        return _unavailable(exc)
    state.ops_stats = (time.monotonic(), stats)
    return JSONResponse(stats)
