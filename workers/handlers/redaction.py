"""Sensitive arguments: `@tool(redact=["card_number"])` names the arguments whose values are never stored,
logged or traced.

Here: the option's check at import (each name must be a parameter the LLM sends), the call's `parameters` text
with those values replaced (what the call record and RQ's job keep), and the values themselves as text, for
scrubbing them out of anything else a call produces (its answer as recorded, log lines written while it runs).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

REDACTED = "[redacted]"
"""What a redacted argument's value is replaced with."""
NOT_AN_OBJECT = "[redacted: the arguments are not a JSON object]"
"""What replaces the whole `parameters` text when it cannot be read, so no value can be picked out of it."""
MIN_SCRUBBED_CHARS = 4
"""Shorter values are not scrubbed from free text: replacing every "1" or "yes" would garble it and hide
nothing worth hiding."""


def check_redact(tool_name: str, redact: object, parameter_names: Iterable[str]) -> frozenset[str]:
    """The names of `@tool(redact=...)`, or TypeError/ValueError naming what is wrong with the option."""
    if redact is None:
        return frozenset()
    if isinstance(redact, str | bytes) or not isinstance(redact, Iterable):
        raise TypeError(
            f"@tool option redact= must be a list of parameter names (redact=[{redact!r}]), "
            f"not {type(redact).__name__}"
        )
    names = list(redact)
    not_text = [name for name in names if not isinstance(name, str)]
    if not_text:
        raise TypeError(f"@tool option redact= must hold parameter names (strings), not {not_text[0]!r}")
    known = list(parameter_names)
    unknown = sorted(set(names) - set(known))
    if unknown:
        listed = ", ".join(known) if known else "none"
        raise ValueError(
            f"tool {tool_name!r}: redact= names {', '.join(map(repr, unknown))}, which "
            f"{'is not a parameter' if len(unknown) == 1 else 'are not parameters'} of it (its parameters: {listed})"
        )
    return frozenset(names)


def _arguments(parameters: str) -> dict[str, Any] | None:
    try:
        data = json.loads(parameters.strip() or "{}")
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def redact_parameters(parameters: str, names: frozenset[str]) -> tuple[str, list[str]]:
    """`parameters` (a tool call's arguments, JSON text) with each named argument's value replaced by `REDACTED`,
    and the names that were present. Text that is not a JSON object is replaced whole (`NOT_AN_OBJECT`)."""
    if not names:
        return parameters, []
    data = _arguments(parameters)
    if data is None:
        return json.dumps(NOT_AN_OBJECT), sorted(names)
    present = sorted(name for name in names if name in data)
    if not present:
        return parameters, []
    redacted = {key: REDACTED if key in names else value for key, value in data.items()}
    return json.dumps(redacted, ensure_ascii=False), present


def sensitive_values(parameters: str, names: frozenset[str]) -> tuple[str, ...]:
    """The text forms of the named arguments' values in this call (each string and number inside them, and their
    JSON spelling), longest first; the whole text when it cannot be read. Values shorter than
    `MIN_SCRUBBED_CHARS` are left out."""
    if not names:
        return ()
    data = _arguments(parameters)
    if data is None:
        found = {parameters.strip()}
    else:
        found = {text for name in names if name in data for text in _texts(data[name])}
    return tuple(sorted((text for text in found if len(text) >= MIN_SCRUBBED_CHARS), key=len, reverse=True))


def _texts(value: Any) -> Iterator[str]:
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, str):
        yield value
        yield json.dumps(value)[1:-1]
    elif isinstance(value, int | float):
        yield str(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def scrub(text: str, values: tuple[str, ...], replacement: str = "***") -> str:
    """`text` with every one of `values` (longest first, as `sensitive_values` gives them) replaced."""
    for value in values:
        if value in text:
            text = text.replace(value, replacement)
    return text
