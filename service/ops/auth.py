"""Who may see the ops page: whoever presents `OPS_TOKEN`, as a bearer token or through the login form, which
sets a session cookie (Secure, HttpOnly, SameSite=Strict) holding an HMAC of the token, never the token itself.
Every comparison is constant-time; a changed `OPS_TOKEN` ends every session.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "evi_ops_session"
COOKIE_PATH = "/ops"
SESSION_SECONDS = 12 * 3600
_SESSION_MESSAGE = b"evi-toolhost ops session v1"


class OpsAuth:
    def __init__(self, token: str) -> None:
        self._token_digest = hashlib.sha256(token.encode()).digest()
        self._session = hmac.new(token.encode(), _SESSION_MESSAGE, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "OpsAuth(token=***)"

    def token_matches(self, given: str) -> bool:
        """Constant-time, whatever the length of `given`: both sides are compared as SHA-256 digests."""
        return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), self._token_digest)

    def authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "bearer" and credentials:
            return self.token_matches(credentials.strip())
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self._session.encode())

    def start_session(self, response: Response) -> None:
        response.set_cookie(
            COOKIE,
            self._session,
            max_age=SESSION_SECONDS,
            path=COOKIE_PATH,
            secure=True,
            httponly=True,
            samesite="strict",
        )

    @staticmethod
    def end_session(response: Response) -> None:
        response.delete_cookie(COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict")
