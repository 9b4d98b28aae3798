"""Transcripts: the user and assistant messages of a chat, in order, from Hume's chat events."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

ROLES: dict[str, Literal["user", "assistant"]] = {"USER_MESSAGE": "user", "AGENT_MESSAGE": "assistant"}
_SECONDS_BEFORE = 10**11
"""Hume documents chat event timestamps as seconds but serves milliseconds; below this it is seconds."""


@dataclass(frozen=True)
class TranscriptLine:
    role: Literal["user", "assistant"]
    text: str
    timestamp_ms: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def transcript_from_events(events: Iterable[Mapping[str, Any]]) -> list[TranscriptLine]:
    """USER_MESSAGE → user, AGENT_MESSAGE → assistant, in the order given; every other event is skipped."""
    lines: list[TranscriptLine] = []
    for event in events:
        role = ROLES.get(str(event.get("type")))
        text = event.get("message_text")
        if role is None or not isinstance(text, str):
            continue
        lines.append(TranscriptLine(role, text, _to_ms(event.get("timestamp"))))
    return lines


def _to_ms(value: object) -> int:
    if not isinstance(value, int | float):
        return 0
    return int(value * 1000) if value < _SECONDS_BEFORE else int(value)
