"""The web tier: a Starlette app with the webhook intake, health and metrics routes and, when `OPS_TOKEN` is set,
the ops page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis as AsyncRedis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.health import healthz, readyz
from service.heap import freeze_startup_heap
from service.logs import configure_logging
from service.metrics import metrics, observed
from service.observability import tracing
from service.ops.routes import ops_routes
from service.queue.enqueue import Enqueuer
from service.redis_client import connect_async
from service.responses import error_response
from service.settings import Settings, load_settings
from service.webhooks import hume_webhook

log = logging.getLogger("evi_toolhost.app")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, "http_error", str(exc.detail))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "the service failed to handle this request")


def create_app(settings: Settings, redis: AsyncRedis | None = None, *, freeze_heap: bool = False) -> Starlette:
    """The app; `redis` is the asyncio client it uses (default: one for `settings.redis_url`, closed at shutdown).
    `freeze_heap`: in a serving process, exempt what start-up made from the garbage collector (`service.heap`)."""
    owns_redis = redis is None
    client = redis if redis is not None else connect_async(settings.redis_url, socket_timeout=None)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if freeze_heap:
            freeze_startup_heap()
        yield
        if owns_redis:
            await client.aclose()

    ops = ops_routes(settings.ops_token.get_secret_value()) if settings.ops_token is not None else []
    app = Starlette(
        routes=[
            Route("/hume-webhook", observed(hume_webhook), methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            *ops,
        ],
        exception_handlers={HTTPException: _http_error, Exception: _unexpected_error},
        lifespan=lifespan,
    )
    tracing.instrument_app(app)
    app.state.settings = settings
    app.state.redis = client
    app.state.enqueuer = Enqueuer(
        client,
        claim_ttl_seconds=settings.claim_ttl_seconds,
        record_ttl_seconds=settings.record_ttl_seconds,
        default_timeout_seconds=settings.tool_timeout_seconds,
    )
    return app


def create_app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` and `evi-toolhost web` (in each uvicorn worker process, when several)."""
    configure_logging()
    tracing.configure("web")
    return create_app(load_settings(), freeze_heap=True)
