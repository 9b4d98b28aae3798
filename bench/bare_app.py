"""Intake baseline: a bare Starlette endpoint that reads the body and returns 200.

Served exactly as `evi-toolhost web` serves the real app (same uvicorn options, one process):

    python -m uvicorn bench.bare_app:create_app --factory --host 127.0.0.1 --port P ...
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def hume_webhook(request: Request) -> Response:
    await request.body()
    return Response(status_code=200)


def create_app() -> Starlette:
    return Starlette(routes=[Route("/hume-webhook", hume_webhook, methods=["POST"])])
