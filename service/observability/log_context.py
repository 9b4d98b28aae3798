"""The fields of the tool call being worked on (`tool_call_id`, `chat_id`, `tool`), for every log line made meanwhile:
set around a call's work (`log_context`), added to each record by `CallFields`, written as keys of their own by
the JSON log format (`service.observability.json_logs`). Asyncio tasks and `Runtime.run` carry them along."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType

_NONE: Mapping[str, object] = MappingProxyType({})
_fields: ContextVar[Mapping[str, object]] = ContextVar("evi_log_fields", default=_NONE)


class log_context:
    """`fields` (those not None) on every log record made in this context while the block runs."""

    __slots__ = ("fields", "token")

    def __init__(self, fields: Mapping[str, object]) -> None:
        self.fields = {**_fields.get(), **{k: v for k, v in fields.items() if v is not None}}

    def __enter__(self) -> None:
        self.token = _fields.set(self.fields)

    def __exit__(self, *exc: object) -> None:
        _fields.reset(self.token)


def current() -> Mapping[str, object]:
    return _fields.get()


class CallFields(logging.Filter):
    """Adds the current call's fields to a record (what the record was given with `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _fields.get().items():
            if key not in record.__dict__:
                record.__dict__[key] = value
        return True
