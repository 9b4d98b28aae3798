"""Query parameters and pages as Hume's list endpoints have them: zero-based `page_number` (default 0),
`page_size` 1-100 (default 10), `ascending_order` (default true); a bad value is a 422 naming the parameter."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request

from evi_toolhost.simulator.errors import InvalidRequest

T = TypeVar("T")
Q = TypeVar("Q", bound=BaseModel)


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page_number: int = Field(default=0, ge=0)
    page_size: int = Field(default=10, ge=1, le=100)


class EventsQuery(PageQuery):
    ascending_order: bool = True


class ListQuery(PageQuery):
    restrict_to_most_recent: bool | None = None
    name: str | None = None


def parse_query(request: Request, model: type[Q]) -> Q:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise InvalidRequest.from_pydantic(exc, "query") from None


def page(items: Sequence[T], query: PageQuery) -> tuple[list[T], int]:
    """The requested page (empty past the end) and the total number of pages."""
    start = query.page_number * query.page_size
    return list(items[start : start + query.page_size]), math.ceil(len(items) / query.page_size)
