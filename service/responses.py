"""JSON error answers: a status code and a message naming the problem, never a traceback."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


def error_response(status_code: int, error: str, detail: str, **extra: Any) -> JSONResponse:
    headers = extra.pop("headers", None)
    return JSONResponse({"error": error, "detail": detail, **extra}, status_code=status_code, headers=headers)
