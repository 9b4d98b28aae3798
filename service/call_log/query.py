"""Which calls to list: by tool, status, chat and age, newest first, at most so many."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from service.call_log.view import STATES

DEFAULT_LIMIT = 20
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class BadQuery(ValueError):
    """A filter that cannot be understood; the message names it."""


@dataclass(frozen=True)
class CallQuery:
    tool: str | None = None
    status: str | None = None
    """One of `view.STATES`: a final status, or `queued` / `running` for calls in flight."""
    chat: str | None = None
    since_ms: int | None = None
    """Calls EVI triggered at or after this time (epoch ms)."""
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATES:
            raise BadQuery(f"status {self.status!r} is not one of {', '.join(STATES)}")
        if self.limit < 1:
            raise BadQuery(f"limit must be at least 1, not {self.limit}")

    def matches(self, record: dict[str, str], state: str) -> bool:
        return (
            (self.tool is None or record.get("name") == self.tool)
            and (self.status is None or state == self.status)
            and (self.chat is None or record.get("chat_id") == self.chat)
        )


def parse_since(text: str, now_ms: int) -> int:
    """`10m`, `2h`, `30s`, `1d` ago, or an ISO 8601 time (without an offset: local time), as epoch ms."""
    age = _AGE.match(text)
    if age:
        return now_ms - int(float(age.group(1)) * _UNIT_SECONDS[age.group(2)] * 1000)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadQuery(f"since {text!r} is neither an age (10m, 2h, 30s, 1d) nor an ISO time") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()
    return int(moment.timestamp() * 1000)
