"""What a played script did: each tool call with its answer and timings, and a printable timeline."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from evi_toolhost.simulator.script import Expect


@dataclass
class WebhookDelivery:
    event_name: str
    status: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return (
            f"{self.event_name} {self.status}"
            if self.status is not None
            else f"{self.event_name} failed ({self.error})"
        )


@dataclass
class CallReport:
    """One tool call: what was asked, how it went out, the answer, and whether it met `expect`."""

    turn: int
    tool: str
    tool_type: str
    arguments: dict[str, Any]
    tool_call_id: str
    via: str
    response_required: bool
    expect: Expect
    webhook: WebhookDelivery | None = None
    answer_type: str | None = None
    content: str | None = None
    code: str | None = None
    error: str | None = None
    transport: str | None = None
    answers: int = 0
    said: list[tuple[float, str]] = field(default_factory=list)
    """What was said (`assistant_input`) between the call and its answer: seconds after the call, text."""
    announced: tuple[float, str] | None = None
    """What a background tool said after its answer: seconds after the call, text."""
    player_ms: float | None = None
    """From just before the call went out to the long-poll returning with the answer (player's clock)."""
    server_ms: float | None = None
    """From the same moment to the answer's arrival at the simulator (`received_at`, wall clock)."""
    met: bool = False
    problem: str | None = None


@dataclass
class PlayReport:
    chat_id: str
    chat_group_id: str
    resumed: bool = False
    """The chat resumed its group (the script played an earlier chat first)."""
    calls: list[CallReport] = field(default_factory=list)
    lifecycle: list[WebhookDelivery] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every call met its expectation and every lifecycle webhook got a 2xx."""
        return all(call.met for call in self.calls) and all(hook.delivered for hook in self.lifecycle)

    def format_timeline(self) -> str:
        header = [
            "#",
            "tool",
            "via",
            "arguments",
            "answer",
            "transport",
            "code",
            "player ms",
            "server ms",
            "ok",
            "content",
        ]
        rows = [header, *(_row(call) for call in self.calls)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
        resumed = ", resumed" if self.resumed else ""
        lines = [f"chat {self.chat_id} (group {self.chat_group_id}{resumed})"]
        for row, call in zip(rows, [None, *self.calls], strict=True):
            cells = [_align(i, cell, width) for i, (cell, width) in enumerate(zip(row[:-1], widths, strict=True))]
            lines.append("  ".join([*cells, row[-1]]).rstrip())
            if call is not None:
                lines.extend(f"{'':>{widths[0]}}  said +{at:.2f} s: {text}" for at, text in call.said)
                if call.announced is not None:
                    lines.append(f"{'':>{widths[0]}}  told +{call.announced[0]:.2f} s: {call.announced[1]}")
        for call in self.calls:
            if call.problem:
                lines.append(f"  #{call.turn} {call.tool}: {call.problem}")
        lines.append("webhooks: " + ", ".join(hook.describe() for hook in self.lifecycle))
        lines.append(self.verdict())
        return "\n".join(lines)

    def verdict(self) -> str:
        met = sum(call.met for call in self.calls)
        failed_hooks = [hook.event_name for hook in self.lifecycle if not hook.delivered]
        summary = f"{met}/{len(self.calls)} tool calls met their expectations"
        if failed_hooks:
            summary += f"; webhook not accepted: {', '.join(failed_hooks)}"
        return f"{'PASS' if self.ok else 'FAIL'}: {summary}"


_RIGHT_ALIGNED = frozenset({0, 7, 8})


def _align(column: int, cell: str, width: int) -> str:
    return cell.rjust(width) if column in _RIGHT_ALIGNED else cell.ljust(width)


def _clip(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _row(call: CallReport) -> list[str]:
    via = call.via
    if call.webhook is not None and not call.webhook.delivered:
        via += f" ({call.webhook.status or 'failed'})"
    return [
        str(call.turn),
        call.tool,
        via,
        _clip(json.dumps(call.arguments, ensure_ascii=False), 32),
        call.answer_type or "none",
        call.transport or "-",
        call.code or "-",
        _ms(call.player_ms),
        _ms(call.server_ms),
        "yes" if call.met else "NO",
        _clip(call.content or call.error or ""),
    ]
