"""A call record as people read it: its state, its latency, the time each segment of its path took, and the
summary and detail shapes that `evi-toolhost calls --json` and the ops API both give.

Record fields (all text in Redis; times in epoch ms): `name`, `chat_id`, `status`, `received_ms` (EVI triggered
the call), `queued_ms` (our intake queued it), `job_started_ms` (a worker started its job), `started_ms` (the
handler started), `finished_ms` (it returned), `answered_ms` (the control plane took the answer), `worker`,
`arguments` (JSON text, redacted), `redacted`, `answer_type`, `error_code`, `content`, `answer_error`,
`transport`, `delivery_attempts`, `dedupe_hits`, `answered_by`, `error`, ...
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FINAL = ("answered", "failed", "timeout", "undeliverable", "not_required", "cancelled", "chat_ended")
IN_FLIGHT = ("queued", "running")
STATES = (*IN_FLIGHT, *FINAL)
ERRORS = ("failed", "timeout", "undeliverable")
"""Outcomes that count against a tool's error rate."""

SUMMARY_FIELDS = (
    "name",
    "status",
    "chat_id",
    "received_ms",
    "started_ms",
    "answered_ms",
    "error_code",
    "answer_type",
    "transport",
    "worker",
    "delivery_attempts",
    "dedupe_hits",
    "answered_by",
)
"""What a listing reads of each record (not the arguments and content, which can be long)."""

SEGMENTS = (
    ("to the intake", "received_ms", "queued_ms"),
    ("queued", "queued_ms", "job_started_ms"),
    ("pickup", "job_started_ms", "started_ms"),
    ("handler", "started_ms", "finished_ms"),
    ("delivery", "finished_ms", "answered_ms"),
)
"""The path of a call, segment by segment: (name, from field, to field)."""


def state(record: dict[str, str]) -> str:
    """The record's status, with an unanswered call told apart: `running` once a worker started it."""
    status = record.get("status", "queued")
    if status == "queued" and record.get("started_ms"):
        return "running"
    return status


def _int(record: dict[str, str], field: str) -> int | None:
    try:
        return int(record[field])
    except (KeyError, ValueError):
        return None


def latency_ms(record: dict[str, str]) -> int | None:
    """From EVI triggering the call to the control plane taking our answer."""
    received, answered = _int(record, "received_ms"), _int(record, "answered_ms")
    return answered - received if received is not None and answered is not None else None


@dataclass(frozen=True)
class Segment:
    name: str
    ms: int


def timings(record: dict[str, str]) -> list[Segment]:
    """Each segment whose two ends the record has, in path order; then `total` when the call was answered."""
    segments = []
    for name, start, end in SEGMENTS:
        begun, ended = _int(record, start), _int(record, end)
        if name == "queued" and ended is None:
            ended = _int(record, "started_ms")  # a record from before job starts were noted
        if begun is not None and ended is not None:
            segments.append(Segment(name, ended - begun))
    total = latency_ms(record)
    if total is not None:
        segments.append(Segment("total", total))
    return segments


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def summary(call_id: str, record: dict[str, str]) -> dict[str, Any]:
    """One line of the log: what happened, how fast, by which path."""
    received = _int(record, "received_ms")
    return {
        "tool_call_id": call_id,
        "tool": record.get("name"),
        "status": state(record),
        "code": record.get("error_code") or None,
        "chat_id": record.get("chat_id"),
        "received_at": iso(received),
        "received_ms": received,
        "latency_ms": latency_ms(record),
        "transport": record.get("transport") or None,
        "worker": record.get("worker") or None,
        "delivery_attempts": _int(record, "delivery_attempts"),
        "dedupe_hits": _int(record, "dedupe_hits") or 0,
        "answered_by": record.get("answered_by") or ("worker" if record.get("answered_ms") else None),
    }


def arguments_of(record: dict[str, str]) -> Any:
    """The recorded arguments as JSON data (the text itself when it is not JSON; None when none were recorded)."""
    raw = record.get("arguments")
    if raw is None:
        return None
    try:
        return json.loads(raw or "{}")
    except ValueError:
        return raw


def redacted_of(record: dict[str, str]) -> list[str]:
    return [name for name in record.get("redacted", "").split(",") if name]


def detail(call_id: str, record: dict[str, str]) -> dict[str, Any]:
    """The whole record, with the summary, the arguments as data and the timing breakdown."""
    return {
        **summary(call_id, record),
        "arguments": arguments_of(record),
        "redacted": redacted_of(record),
        "answer": {
            "type": record.get("answer_type"),
            "code": record.get("error_code") or None,
            "content": record.get("content"),
            "error": record.get("answer_error") or None,
        },
        "timings_ms": {segment.name: segment.ms for segment in timings(record)},
        "record": dict(sorted(record.items())),
    }
