"""How the chat commands print: the chat list as a table, a transcript as text (`show`), Markdown or JSON lines
(`export`)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from evi_toolhost.history.transcript import Entry, Message, ToolCall


def _clock(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000)) if ms else "-"


def duration(chat: dict[str, Any]) -> str:
    start, end = chat.get("start_timestamp"), chat.get("end_timestamp")
    if not isinstance(start, int):
        return "-"
    if not isinstance(end, int):
        return "running"
    return f"{(end - start) / 1000:.0f} s"


def chat_table(chats: Sequence[dict[str, Any]], tool_calls: dict[str, int]) -> Iterator[str]:
    rows = [("chat", "group", "status", "started (UTC)", "duration", "tool calls")]
    for chat in chats:
        rows.append(
            (
                str(chat.get("id")),
                str(chat.get("chat_group_id")),
                str(chat.get("status")),
                _clock(int(chat.get("start_timestamp") or 0)),
                duration(chat),
                str(tool_calls.get(str(chat.get("id")), 0)),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()


def _emotions(message: Message) -> str:
    return ", ".join(f"{name} {score:.2f}" for name, score in message.emotions)


def _latency(call: ToolCall) -> str:
    return f"{call.latency_ms} ms" if call.latency_ms is not None else "latency unknown"


def _answer(call: ToolCall) -> str:
    if call.answer_type is None:
        return "no answer in the history"
    code = f" {call.code}" if call.code else ""
    return f"{call.answer_type}{code}: {call.answer or ''}"


def text_lines(entries: Sequence[Entry]) -> Iterator[str]:
    for entry in entries:
        stamp = _clock(entry.time_ms)[11:]
        if isinstance(entry, Message):
            yield f"{stamp}  {entry.role}: {entry.text}"
            if entry.emotions:
                yield f"{' ' * 10}  ({_emotions(entry)})"
        else:
            yield f"{stamp}  tool {entry.name}({entry.arguments}) → {_answer(entry)} [{_latency(entry)}]"


def markdown_lines(title: str, entries: Sequence[Entry]) -> Iterator[str]:
    yield f"# {title}"
    yield ""
    for entry in entries:
        if isinstance(entry, Message):
            feeling = f" _({_emotions(entry)})_" if entry.emotions else ""
            yield f"**{entry.role}** ({_clock(entry.time_ms)}): {entry.text}{feeling}"
        else:
            yield f"- tool `{entry.name}` `{entry.arguments}` → {_answer(entry)} ({_latency(entry)})"
        yield ""


def jsonl_lines(entries: Sequence[Entry]) -> Iterator[str]:
    for entry in entries:
        data = dataclasses.asdict(entry)
        data["kind"] = "message" if isinstance(entry, Message) else "tool_call"
        if isinstance(entry, Message):
            data["emotions"] = [{"name": name, "score": score} for name, score in entry.emotions]
        yield json.dumps(data, ensure_ascii=False)
