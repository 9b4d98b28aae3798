"""API-key checks: the `X-Hume-Api-Key` header on REST, plus the `api_key` query parameter on sockets.

A refused REST call gets 401 with the fault body of Hume's API gateway. As at Hume, the gateway comes first: every
HTTP request is checked (`ApiKeyGate`) before routing, so an unknown route or method without the key is a 401 too.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers, QueryParams
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from evi_toolhost.simulator.errors import ApiError

API_KEY_HEADER = "X-Hume-Api-Key"
API_KEY_QUERY = "api_key"


def key_matches(presented: str | None, expected: str) -> bool:
    return presented is not None and hmac.compare_digest(presented.encode(), expected.encode())


def presented_key(headers: Headers, query: QueryParams | None = None) -> str | None:
    key = headers.get(API_KEY_HEADER)
    if key is None and query is not None:
        key = query.get(API_KEY_QUERY)
    return key


def require_api_key(connection: HTTPConnection) -> None:
    """Raise ApiError(401) unless the request carries the simulator's API key in `X-Hume-Api-Key`."""
    expected: str = connection.app.state.api_key
    key = presented_key(connection.headers)
    if key is None:
        raise ApiError(
            401,
            f"missing {API_KEY_HEADER} header",
            body={
                "fault": {
                    "faultstring": f"Failed to resolve API Key variable request.header.{API_KEY_HEADER}",
                    "detail": {"errorcode": "steps.oauth.v2.FailedToResolveAPIKey"},
                }
            },
        )
    if not key_matches(key, expected):
        raise ApiError(
            401,
            "invalid API key",
            body={"fault": {"faultstring": "Invalid ApiKey", "detail": {"errorcode": "oauth.v2.InvalidApiKey"}}},
        )


class ApiKeyGate:
    """ASGI middleware: an HTTP request without the simulator's key gets the gateway's 401, whatever its route.
    Sockets are let through: the socket route accepts, then closes with 1008 (as Hume does)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                require_api_key(HTTPConnection(scope))
            except ApiError as exc:
                await JSONResponse(exc.body, status_code=exc.status)(scope, receive, send)
                return
        await self.app(scope, receive, send)
