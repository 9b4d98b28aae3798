"""WebSocket `/v0/evi/chat/{chat_id}/connect`: the control-plane socket of a live chat.

The socket is accepted first, then checked: a wrong or missing key (`api_key` query parameter or
`X-Hume-Api-Key` header), an unknown or ended chat, or a chat started without `allow_connection` is
closed at once with 1008 (policy violation) and a reason. Otherwise it gets `chat_metadata`, the chat
so far, then live messages; what it sends is handled like an HTTP send (an invalid message gets an
`error` message, not a disconnect). When the chat ends the server closes it with 1000.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from evi_toolhost.simulator import events
from evi_toolhost.simulator.auth import key_matches, presented_key
from evi_toolhost.simulator.control_plane import validate_publish
from evi_toolhost.simulator.errors import ApiError, InvalidRequest
from evi_toolhost.simulator.state import SimulatorState, Subscription

POLICY_VIOLATION = 1008
NORMAL_CLOSURE = 1000


async def connect(websocket: WebSocket) -> None:
    state: SimulatorState = websocket.app.state.simulator
    await websocket.accept()
    if not key_matches(presented_key(websocket.headers, websocket.query_params), websocket.app.state.api_key):
        await websocket.close(POLICY_VIOLATION, "invalid or missing API key")
        return
    try:
        subscription = state.subscribe(websocket.path_params["chat_id"])
    except ApiError as exc:
        await websocket.close(POLICY_VIOLATION, exc.detail[:120])
        return
    try:
        await _serve(websocket, state, subscription)
    finally:
        state.unsubscribe(subscription)


async def _serve(websocket: WebSocket, state: SimulatorState, subscription: Subscription) -> None:
    tasks = {
        asyncio.create_task(_send_loop(websocket, subscription)),
        asyncio.create_task(_receive_loop(websocket, state, subscription)),
    }
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        with contextlib.suppress(WebSocketDisconnect):
            task.result()


async def _send_loop(websocket: WebSocket, subscription: Subscription) -> None:
    while True:
        message = await subscription.queue.get()
        if message is None:
            await websocket.close(NORMAL_CLOSURE, "chat ended")
            return
        await websocket.send_json(message)


async def _receive_loop(websocket: WebSocket, state: SimulatorState, subscription: Subscription) -> None:
    while True:
        frame = await websocket.receive()
        if frame["type"] == "websocket.disconnect":
            return
        raw = frame.get("text")
        if raw is None:
            raw = (frame.get("bytes") or b"").decode(errors="replace")
        reply = _handle(state, subscription.chat_id, raw)
        if reply is not None:
            subscription.push(reply)


def _handle(state: SimulatorState, chat_id: str, raw: str) -> dict[str, Any] | None:
    """Accept one client message; the `error` message to send back if it is refused."""
    try:
        payload = json.loads(raw)
    except json.JSONDecodeError as exc:
        return events.socket_error("E0100", "invalid_json", f"the message is not valid JSON: {exc}")
    try:
        message = validate_publish(payload, location="message")
    except InvalidRequest as exc:
        return events.socket_error("E0101", "invalid_message", f"not a control-plane message: {exc}")
    try:
        state.receive(chat_id, message, payload, "socket")
    except ApiError as exc:
        return events.socket_error("E0101", "chat_not_active", exc.detail)
    return None


routes = [WebSocketRoute("/v0/evi/chat/{chat_id}/connect", connect)]
