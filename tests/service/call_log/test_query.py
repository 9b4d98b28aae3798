"""Which calls to list: the filters, and `--since` as an age or a time."""

from __future__ import annotations

from datetime import datetime

import pytest

from service.call_log.query import BadQuery, CallQuery, parse_since

NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    ("text", "ago_ms"), [("10m", 600_000), ("2h", 7_200_000), ("30s", 30_000), ("1.5d", 1.5 * 86_400_000)]
)
def test_since_an_age(text: str, ago_ms: float) -> None:
    assert parse_since(text, NOW) == NOW - ago_ms


def test_since_an_iso_time_local_unless_it_says_otherwise() -> None:
    assert parse_since("2027-01-15T08:00:00Z", NOW) == 1_800_000_000_000
    assert parse_since("2027-01-15T08:00:00+01:00", NOW) == 1_800_000_000_000 - 3_600_000
    assert parse_since("2027-01-15T08:00", NOW) == int(datetime(2027, 1, 15, 8).timestamp() * 1000)


def test_what_cannot_be_understood_is_named() -> None:
    with pytest.raises(BadQuery, match="since 'yesterday' is neither an age"):
        parse_since("yesterday", NOW)
    with pytest.raises(BadQuery, match="status 'done' is not one of queued, running, answered"):
        CallQuery(status="done")
    with pytest.raises(BadQuery, match="limit must be at least 1"):
        CallQuery(limit=0)


def test_filters_match_tool_status_and_chat() -> None:
    record = {"name": "pay", "chat_id": "c1"}
    assert CallQuery().matches(record, "answered")
    assert CallQuery(tool="pay", status="answered", chat="c1").matches(record, "answered")
    assert not CallQuery(tool="other").matches(record, "answered")
    assert not CallQuery(status="failed").matches(record, "answered")
    assert not CallQuery(chat="c2").matches(record, "answered")
