"""Replaying a recorded call: its recorded arguments, run again through the tools in the current code with the
test kit (`workers.testing.ToolKit`: the worker's own job code, in memory; nothing is sent to Hume), and the new
answer compared with the recorded one. A regression check from production traffic.

Two answers are the same when their type, code and content are (content longer than the record keeps is
compared by length and SHA-256).
"""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass

from service.call_log.view import arguments_of, redacted_of
from workers.call_log import CONTENT_LIMIT, content_digest
from workers.handlers.registry import Registry
from workers.testing import ToolKit


class CannotReplay(Exception):
    """The record cannot be replayed; the message says why."""


class Redacted(CannotReplay):
    """Its arguments were redacted (`@tool(redact=...)`): what the tool got was never stored."""


@dataclass(frozen=True)
class Answer:
    type: str
    code: str | None
    content: str
    chars: int
    """The content's full length (longer than `content` when the record cut it)."""
    digest: str

    def same_as(self, other: Answer) -> bool:
        return (self.type, self.code, self.chars, self.digest) == (other.type, other.code, other.chars, other.digest)


def recorded_answer(record: dict[str, str]) -> Answer:
    content = record.get("content", "")
    chars = int(record.get("content_chars") or len(content))
    digest = record.get("content_sha256") or content_digest(content)
    return Answer(record.get("answer_type", ""), record.get("error_code") or None, content, chars, digest)


def replayable(call_id: str, record: dict[str, str]) -> str:
    """The recorded arguments' JSON text, or `CannotReplay` / `Redacted` saying why there is none to use."""
    redacted = redacted_of(record)
    if redacted:
        raise Redacted(
            f"cannot replay {call_id}: its argument{'s' if len(redacted) > 1 else ''} {', '.join(redacted)} "
            f"{'were' if len(redacted) > 1 else 'was'} redacted (@tool(redact=...)), so what the tool got was never "
            "stored"
        )
    if record.get("status") == "not_required":
        raise CannotReplay(f"cannot replay {call_id}: it needed no answer (a built-in tool), so nothing was run")
    if arguments_of(record) is None:
        raise CannotReplay(
            f"cannot replay {call_id}: no worker started it, so its arguments were not recorded "
            f"(status {record.get('status', 'unknown')})"
        )
    if not record.get("answer_type"):
        raise CannotReplay(f"cannot replay {call_id}: it has no recorded answer yet (status {record.get('status')})")
    return record["arguments"]


def replay(call_id: str, record: dict[str, str], registry: Registry) -> tuple[Answer, Answer]:
    """The recorded answer and the one the current code gives for the same arguments."""
    arguments = replayable(call_id, record)
    with ToolKit(registry) as kit:
        kit.chat_id = record.get("chat_id") or kit.chat_id
        kit.custom_session_id = record.get("custom_session_id") or None
        result = kit.call_with(record.get("name", ""), arguments)
    if result.answer is None:
        raise CannotReplay(f"cannot replay {call_id}: the tool gave no answer when run again")
    content = result.answer.content or ""
    now = Answer(result.answer.type, result.code, content[:CONTENT_LIMIT], len(content), content_digest(content))
    return recorded_answer(record), now


def side_by_side(recorded: Answer, now: Answer, width: int | None = None) -> list[str]:
    """The two answers in two columns, field by field, each marked when it differs."""
    total = width or shutil.get_terminal_size((120, 24)).columns
    column = max(20, (total - 16) // 2)
    lines = [f"{'':<10}  {'recorded':<{column}}  now"]
    for name, old, new in (
        ("type", recorded.type, now.type),
        ("code", recorded.code or "-", now.code or "-"),
        ("content", recorded.content, now.content),
    ):
        mark = "≠" if old != new else " "
        left = textwrap.wrap(old, column) or [""]
        right = textwrap.wrap(new, column) or [""]
        for index in range(max(len(left), len(right))):
            label = f"{name:<9}{mark}" if index == 0 else ""
            a = left[index] if index < len(left) else ""
            b = right[index] if index < len(right) else ""
            lines.append(f"{label:<10}  {a:<{column}}  {b}".rstrip())
    return lines
