"""The `/ops` routes, mounted only when `OPS_TOKEN` is set (else `/ops` is a 404 like any unknown path).

Every answer carries a strict Content-Security-Policy (scripts, styles and requests from this origin only, no
inline script or style, no framing) and is never cached; everything but the login form and the page's own
script and stylesheet needs the token (`service.ops.auth`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.ops import api, pages
from service.ops.auth import OpsAuth
from service.responses import error_response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

Endpoint = Callable[[Request], Awaitable[Response]]


def _secured(endpoint: Endpoint, auth: OpsAuth | None, refusal: Endpoint | None = None) -> Endpoint:
    """`endpoint` with the security headers; with `auth`, only for an authorized request (else `refusal`'s
    answer, by default a 401 naming what to send)."""

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if auth is not None and not auth.authorized(request):
            response = await refusal(request) if refusal is not None else _unauthorized()
        else:
            response = await endpoint(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    return guarded


def _unauthorized() -> Response:
    return error_response(
        401,
        "unauthorized",
        "send OPS_TOKEN as a bearer token (Authorization: Bearer ...), or log in at /ops",
        headers={"WWW-Authenticate": 'Bearer realm="evi-toolhost ops"'},
    )


def ops_routes(token: str) -> list[Route]:
    auth = OpsAuth(token)
    login_form = pages.login_form(auth)
    return [
        Route("/ops", _secured(pages.page, auth, refusal=pages.refused), methods=["GET"]),
        Route("/ops/login", _secured(login_form, None), methods=["POST"]),
        Route("/ops/logout", _secured(pages.logout, None), methods=["POST"]),
        Route("/ops/static/{name}", _secured(pages.asset, None), methods=["GET"]),
        Route("/ops/api/overview", _secured(api.overview_endpoint, auth), methods=["GET"]),
        Route("/ops/api/stats", _secured(api.stats_endpoint, auth), methods=["GET"]),
        Route("/ops/api/calls", _secured(api.calls_endpoint, auth), methods=["GET"]),
        Route("/ops/api/calls/{call_id}", _secured(api.call_endpoint, auth), methods=["GET"]),
    ]
