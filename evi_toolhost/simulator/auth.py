"""API-key checks: the `X-Hume-Api-Key` header on REST, plus the `api_key` query parameter on sockets.

A refused REST call gets 401 with the fault body of Hume's API gateway.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers, QueryParams
from starlette.requests import HTTPConnection

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
