"""Intake floor: a bare Starlette endpoint that makes exactly one Redis round trip per request (an async
`LPUSH` of the body) and returns 202: the physical floor of any intake that queues what it receives.

Served exactly as `evi-toolhost web` serves the real app (same uvicorn options, one process), with the same
asyncio Redis client (`service.redis_client.connect_async`, hiredis as the parser):

    REDIS_URL=redis://... python -m uvicorn bench.floor_app:create_app --factory --host 127.0.0.1 --port P ...
"""

from __future__ import annotations

import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.redis_client import connect_async

FLOOR_LIST = "bench:floor"


def create_app() -> Starlette:
    redis = connect_async(os.environ["REDIS_URL"], socket_timeout=None)  # as the web process's client

    async def hume_webhook(request: Request) -> Response:
        await redis.lpush(FLOOR_LIST, await request.body())
        return Response(status_code=202)

    return Starlette(routes=[Route("/hume-webhook", hume_webhook, methods=["POST"])])
