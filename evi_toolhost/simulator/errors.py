"""Error answers in the shapes Hume's API uses: `{"detail": ...}` and FastAPI's `HTTPValidationError`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class ApiError(Exception):
    """An answer other than success: `status` with body `{"detail": detail}` (or `body` when given)."""

    def __init__(self, status: int, detail: str, body: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.body = body if body is not None else {"detail": detail}


class InvalidRequest(Exception):
    """A 422 with the failing fields, as `HTTPValidationError`: `{"detail": [{"loc", "msg", "type"}]}`."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors))
        self.errors = errors

    @classmethod
    def from_pydantic(cls, exc: ValidationError, location: str) -> InvalidRequest:
        return cls(
            [
                {"loc": [location, *error["loc"]], "msg": error["msg"], "type": error["type"]}
                for error in exc.errors(include_url=False, include_input=False)
            ]
        )

    @classmethod
    def single(cls, loc: Sequence[str | int], msg: str, type_: str = "value_error") -> InvalidRequest:
        return cls([{"loc": list(loc), "msg": msg, "type": type_}])


async def read_json(request: Request) -> Any:
    """The parsed body, or InvalidRequest naming the JSON error as FastAPI does (`json_invalid`)."""
    body = await request.body()
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidRequest.single(["body", exc.pos], f"JSON decode error: {exc.msg}", "json_invalid") from None
    except UnicodeDecodeError:
        raise InvalidRequest.single(["body"], "JSON decode error: body is not UTF-8", "json_invalid") from None


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status)


async def invalid_request_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, InvalidRequest)
    return JSONResponse({"detail": exc.errors}, status_code=422)


M = TypeVar("M", bound=BaseModel)


def validate_body(model: type[M], payload: Any) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidRequest.from_pydantic(exc, "body") from None


def path_int(request: Request, name: str) -> int:
    value = request.path_params[name]
    try:
        return int(value)
    except ValueError:
        raise InvalidRequest.single(
            ["path", name], "Input should be a valid integer, unable to parse string as an integer", "int_parsing"
        ) from None
