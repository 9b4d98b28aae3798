"""A plan as `plan` and `apply` print it: one heading per tool, prompt and config that changes, its changes field
by field (a prompt's text as a line diff), then a one-line summary."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence

from evi_toolhost.as_code.apply import Outcome
from evi_toolhost.as_code.plan import Plan
from evi_toolhost.sync.changes import MISSING, Change, format_change

_ACTIONS = {"create": "create", "update": "new version", "keep": "unchanged"}


def _heading(kind: str, name: str, action: str, version: int | None) -> str:
    after = f" (Hume has version {version})" if version is not None else ""
    return f"{kind} {name}: {_ACTIONS[action]}{after}"


def _text_diff(old: str, new: str) -> Iterator[str]:
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "Hume", "evi.yaml", n=1, lineterm="")
    yield "  text:"
    for line in lines:
        yield f"    {line}"


def _refs(value: object) -> str:
    if value is MISSING or not value:
        return "(none)"
    return ", ".join(value) if isinstance(value, list) else str(value)


def _changes(changes: Sequence[Change]) -> Iterator[str]:
    """Each change as `field: old → new`; a config's prompt and tools as `name@version`."""
    for change in changes:
        if change.field in ("prompt", "tools"):
            yield f"  {change.field}: {_refs(change.old)} → {_refs(change.new)}"
        else:
            yield f"  {format_change(change)}"


def plan_lines(plan: Plan) -> Iterator[str]:
    for tool in plan.tools:
        if tool.action != "keep":
            yield _heading("tool", tool.desired.name, tool.action, tool.current.version if tool.current else None)
            yield from _changes(tool.changes)
    for prompt in plan.prompts:
        if prompt.action == "keep":
            continue
        current = prompt.current
        yield _heading("prompt", prompt.desired.name, prompt.action, int(current["version"]) if current else None)
        yield from _text_diff(str(current.get("text", "")) if current else "", prompt.desired.text)
    for config in plan.configs:
        if config.action == "keep":
            continue
        current = config.current
        yield _heading("config", config.desired.name, config.action, int(current["version"]) if current else None)
        yield from _changes(config.changes)
    yield (
        f"plan: {plan.count('create')} to create, {plan.count('update')} to version, "
        f"{plan.count('keep')} unchanged"
    )


def outcome_lines(outcomes: Sequence[Outcome]) -> Iterator[str]:
    rows = [("kind", "name", "id", "version", "action")]
    rows += [(o.kind, o.name, o.id or "-", str(o.version), o.action) for o in outcomes]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[4]
