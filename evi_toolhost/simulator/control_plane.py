"""`POST /v0/evi/chat/{chat_id}/send`: the control plane over HTTP.

Order of checks: injected failure (see `SimulatorState.fail_next_sends`) → API key (401) → chat known
and active (404) → body is a `ControlPlanePublishEvent` (422) → recorded, 200 `{}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evi_toolhost.simulator.auth import require_api_key
from evi_toolhost.simulator.errors import InvalidRequest, read_json
from evi_toolhost.simulator.state import SimulatorState
from service.evi.messages import PublishMessage, publish_message_adapter


def validate_publish(payload: Any, location: str = "body") -> PublishMessage:
    try:
        return publish_message_adapter.validate_python(payload)
    except ValidationError as exc:
        raise InvalidRequest.from_pydantic(exc, location) from None


async def send(request: Request) -> Response:
    state: SimulatorState = request.app.state.simulator
    chat_id = request.path_params["chat_id"]
    state.note_client("http", request.client and (request.client.host, request.client.port), chat_id)
    injected = state.begin_http_send(chat_id)
    if injected is not None:
        headers = {"Retry-After": state.retry_after[chat_id]} if chat_id in state.retry_after else None
        detail = f"simulated failure: status {injected} injected by the simulator"
        return JSONResponse({"detail": detail}, status_code=injected, headers=headers)
    require_api_key(request)
    state.active_chat(chat_id)
    payload = await read_json(request)
    message = validate_publish(payload)
    state.receive(chat_id, message, payload, "http")
    return JSONResponse({})


routes = [Route("/v0/evi/chat/{chat_id}/send", send, methods=["POST"])]
