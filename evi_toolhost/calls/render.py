"""The call log as text: a table of calls, one call with its timing breakdown, JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from service.call_log.view import arguments_of, detail, redacted_of, state, summary, timings

BAR_WIDTH = 30
COLUMNS = ("RECEIVED", "TOOL", "STATUS", "CODE", "LATENCY", "TRANSPORT", "CHAT", "ID")


def local_time(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def _latency(ms: int | None) -> str:
    return "-" if ms is None else f"{ms} ms"


def row(call_id: str, record: dict[str, str]) -> list[str]:
    line = summary(call_id, record)
    return [
        local_time(line["received_ms"]),
        line["tool"] or "?",
        line["status"],
        line["code"] or "-",
        _latency(line["latency_ms"]),
        line["transport"] or "-",
        line["chat_id"] or "-",
        call_id,
    ]


def table(calls: Iterable[tuple[str, dict[str, str]]]) -> list[str]:
    rows = [list(COLUMNS), *(row(call_id, record) for call_id, record in calls)]
    widths = [max(len(cells[i]) for cells in rows) for i in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip() for cells in rows]


def json_lines(calls: Iterable[tuple[str, dict[str, str]]], *, whole: bool = False) -> Iterator[str]:
    for call_id, record in calls:
        shape = detail(call_id, record) if whole else summary(call_id, record)
        yield json.dumps(shape, ensure_ascii=False)


def _bar(ms: int, longest: int) -> str:
    if longest <= 0 or ms <= 0:
        return ""
    return "█" * max(1, round(BAR_WIDTH * ms / longest))


def _show_json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def call_lines(call_id: str, record: dict[str, str]) -> list[str]:
    """One call: what happened, the arguments and answer, the time each segment took, then every field."""
    line = summary(call_id, record)
    status = state(record)
    heading = f"tool call {call_id}: {line['tool'] or '?'}, {status}"
    if record.get("answer_type"):
        heading += f" ({record['answer_type']}{', ' + line['code'] if line['code'] else ''})"
    if line["latency_ms"] is not None:
        heading += f" in {line['latency_ms']} ms"
    if line["transport"]:
        heading += f" by {line['transport']}"
    lines = [heading]
    facts = [
        ("chat", line["chat_id"]),
        ("received", local_time(line["received_ms"])),
        ("worker", line["worker"]),
        ("answered by", record.get("answered_by")),
        ("delivery", f"{line['delivery_attempts']} attempt(s)" if line["delivery_attempts"] else None),
        ("dedupe hits", str(line["dedupe_hits"]) if line["dedupe_hits"] else None),
    ]
    arguments = arguments_of(record)
    facts.append(("arguments", _show_json(arguments) if arguments is not None else "(not recorded)"))
    redacted = redacted_of(record)
    if redacted:
        facts.append(("redacted", ", ".join(redacted)))
    if "content" in record:
        facts.append(("answer", record["content"]))
    if record.get("answer_error"):
        facts.append(("error", record["answer_error"]))
    if record.get("error"):
        facts.append(("delivery error", record["error"]))
    lines += [f"  {name:<12} {value}" for name, value in facts if value]
    segments = timings(record)
    if segments:
        longest = max(segment.ms for segment in segments)
        lines.append("timing")
        lines += [
            f"  {segment.name:<14} {segment.ms:>7} ms  {_bar(segment.ms, longest)}".rstrip() for segment in segments
        ]
    lines.append("record")
    lines += [f"  {key}: {value}" for key, value in sorted(record.items())]
    return lines
