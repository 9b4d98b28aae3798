"""`/healthz` (the process answers) and `/readyz` (Redis answers too)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.redis_client import REQUEST_TIMEOUT_SECONDS
from service.responses import error_response


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    redis: Redis = request.app.state.redis
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
            await redis.ping()
    except (RedisError, TimeoutError) as exc:
        return error_response(503, "redis_unavailable", f"Redis does not answer ({type(exc).__name__})")
    return JSONResponse({"status": "ready"})
