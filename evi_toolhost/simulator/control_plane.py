"""`POST /v0/evi/chat/{chat_id}/send`: the control plane over HTTP.

Order of checks: injected failure (`InjectedSendFailures`, see `SimulatorState.fail_next_sends`) → API key (401,
`auth.ApiKeyGate`) → chat known and active (404) → body is a `ControlPlanePublishEvent` (422) → recorded, 200 `{}`.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from evi_toolhost.simulator.errors import InvalidRequest, read_json
from evi_toolhost.simulator.state import SimulatorState
from service.evi.messages import PublishMessage, publish_message_adapter


def validate_publish(payload: Any, location: str = "body") -> PublishMessage:
    try:
        return publish_message_adapter.validate_python(payload)
    except ValidationError as exc:
        raise InvalidRequest.from_pydantic(exc, location) from None


_SEND_PATH = re.compile(r"^/v0/evi/chat/(?P<chat_id>[^/]+)/send$")


class InjectedSendFailures:
    """ASGI middleware, before the key is checked (as a failing Hume answers before its gateway does): an HTTP
    send is counted, and answered with an injected status when one is due."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = _SEND_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if matched is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        state: SimulatorState = scope["app"].state.simulator
        chat_id = matched["chat_id"]
        client = scope.get("client")
        state.note_client("http", (client[0], client[1]) if client else None, chat_id)
        injected = state.begin_http_send(chat_id)
        if injected is None:
            await self.app(scope, receive, send)
            return
        headers = {"Retry-After": state.retry_after[chat_id]} if chat_id in state.retry_after else None
        detail = f"simulated failure: status {injected} injected by the simulator"
        await JSONResponse({"detail": detail}, status_code=injected, headers=headers)(scope, receive, send)


async def send(request: Request) -> Response:
    state: SimulatorState = request.app.state.simulator
    chat_id = request.path_params["chat_id"]
    state.active_chat(chat_id)
    payload = await read_json(request)
    message = validate_publish(payload)
    state.receive(chat_id, message, payload, "http")
    return JSONResponse({})


routes = [Route("/v0/evi/chat/{chat_id}/send", send, methods=["POST"])]
