"""The ops page's HTML, its login form and its own script and stylesheet, all files of this package.

The HTML holds no data and no secret: the script fetches everything from the JSON API (`service.ops.api`) and
writes it with `textContent`, so nothing a call carries can become markup.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from importlib.resources import files
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from service.ops.auth import OpsAuth
from service.responses import error_response

ASSETS = {"ops.js": "text/javascript; charset=utf-8", "ops.css": "text/css; charset=utf-8"}
MAX_FORM_BYTES = 4096
_STATIC = files("service.ops") / "static"


def _read(name: str) -> str:
    return (_STATIC / name).read_text(encoding="utf-8")


PAGE = _read("ops.html")
LOGIN = _read("login.html")
ASSET_TEXT = {name: _read(name) for name in ASSETS}


def _login_page(message: str, status_code: int) -> Response:
    return HTMLResponse(LOGIN.replace("{{message}}", html.escape(message)), status_code=status_code)


async def page(request: Request) -> Response:
    return HTMLResponse(PAGE)


async def refused(request: Request) -> Response:
    """`/ops` without the token: 401, with the form to give it."""
    return _login_page("Enter the OPS_TOKEN of this deployment.", 401)


def login_form(auth: OpsAuth) -> Callable[[Request], Awaitable[Response]]:
    async def login(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return error_response(413, "body_too_large", f"the form is larger than {MAX_FORM_BYTES} bytes")
        fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=10)
        token = (fields.get("token") or [""])[0]
        if not token or not auth.token_matches(token):
            return _login_page("That is not the OPS_TOKEN of this deployment.", 401)
        response = RedirectResponse("/ops", status_code=303)
        auth.start_session(response)
        return response

    return login


async def logout(request: Request) -> Response:
    response = RedirectResponse("/ops", status_code=303)
    OpsAuth.end_session(response)
    return response


async def asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        return error_response(404, "not_found", f"no ops asset named {name!r}")
    return Response(ASSET_TEXT[name], media_type=ASSETS[name])
