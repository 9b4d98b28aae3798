"""The simulator as one Starlette app: every operation of Hume's REST API (`service/evi/spec/evi-openapi.yml`), the
control-plane socket, and the `/_sim` admin API; the API key is checked first on every HTTP route."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from evi_toolhost.simulator import (
    admin,
    chat_groups_api,
    chats_api,
    configs_api,
    control_plane,
    control_socket,
    history,
    prompts_api,
    tools_api,
)
from evi_toolhost.simulator.auth import ApiKeyGate
from evi_toolhost.simulator.connections import ConnectionTracker
from evi_toolhost.simulator.errors import ApiError, InvalidRequest, api_error_handler, invalid_request_handler
from evi_toolhost.simulator.state import SimulatorState

log = logging.getLogger("evi_toolhost.simulator")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("simulator failed on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "the simulator failed to handle this request"}, status_code=500)


def create_simulator_app(api_key: str, state: SimulatorState | None = None) -> Starlette:
    """The simulator; `app.state.simulator` is its `SimulatorState`, `api_key` the key it accepts."""
    if not api_key:
        raise ValueError("the simulator needs a non-empty API key")
    simulator = state if state is not None else SimulatorState()
    app = Starlette(
        routes=[
            *control_plane.routes,
            *control_socket.routes,
            *history.routes,
            *chats_api.routes,
            *chat_groups_api.routes,
            *prompts_api.routes,
            *tools_api.routes,
            *configs_api.routes,
            *admin.routes,
        ],
        middleware=[
            Middleware(ConnectionTracker, state=simulator),
            Middleware(control_plane.InjectedSendFailures),
            Middleware(ApiKeyGate),
        ],
        exception_handlers={
            ApiError: api_error_handler,
            InvalidRequest: invalid_request_handler,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
    )
    app.state.simulator = simulator
    app.state.api_key = api_key
    return app
