"""A tiny stand-in for the service under test: verifies each webhook's signature independently of
`service.evi.signing` (HMAC-SHA256 over body + b"." + timestamp, hex), records it, and answers tool
calls by POSTing to the simulator's send endpoint, as our workers do."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Answerer = Callable[[dict[str, Any]], list[dict[str, Any]]]


def hume_signature(body: bytes, timestamp: str, key: str) -> str:
    return hmac.new(key.encode(), body + b"." + timestamp.encode(), hashlib.sha256).hexdigest()


def weather_answer(call: dict[str, Any]) -> list[dict[str, Any]]:
    arguments = json.loads(call["parameters"])
    content = json.dumps({"city": arguments.get("city"), "temperature": 18, "unit": arguments.get("unit")})
    return [{"type": "tool_response", "tool_call_id": call["tool_call_id"], "content": content}]


@dataclass
class Delivery:
    body: bytes
    signature: str
    timestamp: str
    event: dict[str, Any]


@dataclass
class WebhookReceiver:
    simulator_url: str
    api_key: str
    signing_key: str
    answer: Answerer = weather_answer
    deliveries: list[Delivery] = field(default_factory=list)
    refused: int = 0
    answer_unrequired: bool = False
    """Answer calls that need no answer too (a misbehaving service)."""

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hume-webhook", self._hook, methods=["POST"])])

    @property
    def event_names(self) -> list[str]:
        return [delivery.event["event_name"] for delivery in self.deliveries]

    async def _hook(self, request: Request) -> Response:
        body = await request.body()
        signature = request.headers.get("X-Hume-AI-Webhook-Signature", "")
        timestamp = request.headers.get("X-Hume-AI-Webhook-Timestamp", "0")
        fresh = abs(time.time() - int(timestamp)) <= 180
        if not fresh or not hmac.compare_digest(hume_signature(body, timestamp, self.signing_key), signature):
            self.refused += 1
            return JSONResponse({"detail": "bad signature"}, status_code=401)
        event = json.loads(body)
        self.deliveries.append(Delivery(body, signature, timestamp, event))
        call = event.get("tool_call_message")
        if call is not None and (call["response_required"] or self.answer_unrequired):
            async with httpx.AsyncClient(base_url=self.simulator_url, headers={"X-Hume-Api-Key": self.api_key}) as http:
                for message in self.answer(call):
                    await http.post(f"/v0/evi/chat/{event['chat_id']}/send", json=message)
        return JSONResponse({"status": "queued"}, status_code=202)
