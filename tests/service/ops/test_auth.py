"""Who may see the ops page: the token, as a bearer token or as the session cookie's HMAC, compared in constant time."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from service.ops.auth import COOKIE, OpsAuth

TOKEN = "a-made-up-ops-token-of-some-length"


def request(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/ops", "headers": raw, "query_string": b""})


def session_cookie(auth: OpsAuth) -> str:
    response = Response()
    auth.start_session(response)
    return response.headers["set-cookie"]


def test_the_bearer_token_or_the_session_cookie_and_nothing_else() -> None:
    auth = OpsAuth(TOKEN)
    value = session_cookie(auth).split(";")[0].split("=", 1)[1]
    assert auth.authorized(request({"Authorization": f"Bearer {TOKEN}"}))
    assert auth.authorized(request({"Cookie": f"{COOKIE}={value}"}))
    for refused in (
        {},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Cookie": f"{COOKIE}={TOKEN}"},  # the token itself is not a session
        {"Cookie": f"{COOKIE}={value[:-1]}"},
    ):
        assert not auth.authorized(request(refused)), refused


def test_the_cookie_holds_no_token_is_secure_httponly_strict_and_ends_with_a_new_token() -> None:
    cookie = session_cookie(OpsAuth(TOKEN))
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "samesite=strict", "path=/ops"} <= attributes
    assert TOKEN not in cookie
    assert session_cookie(OpsAuth(TOKEN + "-rotated")) != cookie
    assert "***" in repr(OpsAuth(TOKEN)) and TOKEN not in repr(OpsAuth(TOKEN))
