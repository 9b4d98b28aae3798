"""ASGI middleware noting each client (host, port) that reaches the simulator, so tests can count TCP
connections: uvicorn gives every request on one connection the same `scope["client"]`."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from evi_toolhost.simulator.state import SimulatorState


class ConnectionTracker:
    def __init__(self, app: ASGIApp, state: SimulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            self.state.note_client(scope["type"], (client[0], client[1]) if client else None)
        await self.app(scope, receive, send)
