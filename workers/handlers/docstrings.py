"""Descriptions from a docstring: the summary (for the tool) and the `Args:` section (for its parameters).

Understands Google style (``Args:`` / ``Arguments:`` / ``Parameters:``, then ``name (type): text``) and
numpy style (``Parameters`` underlined with dashes, then ``name : type`` and indented text).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_GOOGLE_HEADER = re.compile(r"^(Args|Arguments|Parameters|Params)\s*:\s*$")
_GOOGLE_ITEM = re.compile(r"^(\*{0,2}\w+)\s*(\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ITEM = re.compile(r"^(\w+)\s*(:.*)?$")
_ANY_GOOGLE_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Examples?|Notes?|"
    r"Attributes|See Also|Warnings?|References|Todo)\s*:\s*$"
)
_UNDERLINE = re.compile(r"^-{3,}\s*$")


@dataclass(frozen=True)
class Docstring:
    summary: str | None = None
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(doc: str | None) -> Docstring:
    if not doc:
        return Docstring()
    lines = inspect.cleandoc(doc).splitlines()
    start = _first_section(lines)
    summary = "\n".join(lines[:start]).strip() or None
    return Docstring(summary, _google_params(lines) or _numpy_params(lines))


def _first_section(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        if _ANY_GOOGLE_SECTION.match(line.strip()) and not line.startswith(" "):
            return i
        if i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1].strip()) and line.strip():
            return i
    return len(lines)


def _google_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, list[str]] = {}
    in_section = False
    item_indent: int | None = None
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not in_section:
            in_section = bool(_GOOGLE_HEADER.match(stripped)) and indent == 0
            continue
        if stripped and indent == 0:
            break
        if not stripped:
            continue
        if item_indent is None:
            item_indent = indent
        match = _GOOGLE_ITEM.match(stripped)
        if indent == item_indent and match:
            current = match.group(1).lstrip("*")
            params[current] = [match.group(3)]
        elif current is not None:
            params[current].append(stripped)
    return {name: " ".join(part for part in text if part).strip() for name, text in params.items()}


def _numpy_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, list[str]] = {}
    i = 0
    while i + 1 < len(lines):
        if lines[i].strip() in ("Parameters", "Arguments", "Args") and _UNDERLINE.match(lines[i + 1].strip()):
            break
        i += 1
    else:
        return {}
    current: str | None = None
    for line in lines[i + 2 :]:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if indent == 0 and stripped:
            if _UNDERLINE.match(stripped):
                # The line before was the next section's title, not a parameter.
                if current is not None:
                    params.pop(current, None)
                break
            match = _NUMPY_ITEM.match(stripped)
            if not match:
                break
            current = match.group(1)
            params[current] = []
        elif stripped and current is not None:
            params[current].append(stripped)
    return {name: " ".join(text).strip() for name, text in params.items() if text}
