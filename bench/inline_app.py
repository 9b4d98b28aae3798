"""Round-trip baseline: the architecture of Hume's own webhook example, as a small Starlette app.

The handler runs inside the webhook request: verify the signature (`service.evi.signing.verify`, as the
web process does), parse the event, run the tool, POST the `tool_response` to the control plane with one
pooled `httpx.AsyncClient`, and only then return 200. No queue, no worker, no retries, no deadline: the
fastest a webhook-driven answer can be, and what one gives up for it (a handler that blocks or crashes
takes the request down with it; nothing is run at most once).

Served like the web process (same uvicorn options, one process):

    python -m uvicorn bench.inline_app:create_app --factory --host 127.0.0.1 --port P ...
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.evi.signing import SignatureError, verify
from service.evi.webhooks import WebhookEventToolCall, webhook_event_adapter
from service.settings import load_settings
from workers.handlers.registry import default_registry


def create_app() -> Starlette:
    settings = load_settings()
    for module in settings.tool_modules:
        importlib.import_module(module)
    keys = settings.webhook_keys
    base = settings.hume_api_base_url
    headers = {"X-Hume-Api-Key": settings.hume_api_key.get_secret_value()}
    client: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256, keepalive_expiry=60.0)
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0), limits=limits) as http:
            client["http"] = http
            yield

    async def hume_webhook(request: Request) -> Response:
        body = await request.body()
        try:
            verify(body, request.headers, keys, settings.webhook_tolerance_seconds)
        except SignatureError as exc:
            return JSONResponse({"error": exc.failure.value}, status_code=401)
        event = webhook_event_adapter.validate_json(body)
        if not isinstance(event, WebhookEventToolCall):
            return Response(status_code=200)
        call = event.tool_call_message
        tool = default_registry.get(call.name)
        if tool is None:
            return JSONResponse({"error": f"unknown tool {call.name}"}, status_code=404)
        arguments: dict[str, Any] = json.loads(call.parameters or "{}")
        value = tool.func(**arguments)
        if inspect.isawaitable(value):
            value = await value
        answer = {
            "type": "tool_response",
            "tool_call_id": call.tool_call_id,
            "content": value if isinstance(value, str) else json.dumps(value),
        }
        sent = await client["http"].post(f"{base}/v0/evi/chat/{event.chat_id}/send", json=answer, headers=headers)
        return Response(status_code=200 if sent.status_code < 300 else 502)

    return Starlette(routes=[Route("/hume-webhook", hume_webhook, methods=["POST"])], lifespan=lifespan)
