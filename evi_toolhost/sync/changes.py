"""What differs between two JSON values, field by field, and how a change is shown (`field: old → new`).

Numbers compare by value; everything else compares as JSON, so `true` and `1` differ (they are equal in Python).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""The value of a field that is absent on one side of a `Change`."""


@dataclass(frozen=True)
class Change:
    """One field that differs; `field` is dotted for nested JSON (`parameters.properties.city.type`)."""

    field: str
    old: Any
    new: Any


def diff(old: Any, new: Any, prefix: str) -> list[Change]:
    """Changes from `old` to `new`, descending into objects; lists and scalars compare whole."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        changes: list[Change] = []
        for key in [*old, *(k for k in new if k not in old)]:
            changes.extend(diff(old.get(key, MISSING), new.get(key, MISSING), f"{prefix}.{key}"))
        return changes
    if old is MISSING and new is MISSING:
        return []
    return [] if same(old, new) else [Change(prefix, old, new)]


def same(old: Any, new: Any) -> bool:
    if old is MISSING or new is MISSING:
        return old is new
    if _is_number(old) and _is_number(new):
        return bool(old == new)
    # As JSON, so that true and 1 differ (they are equal in Python).
    return json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def format_value(value: Any) -> str:
    if value is MISSING:
        return "(none)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def format_change(change: Change) -> str:
    return f"{change.field}: {format_value(change.old)} → {format_value(change.new)}"
