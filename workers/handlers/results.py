"""`ToolResult`: a handler's result with what goes into the live session beside it.

    return ToolResult(content="Booked for 8 pm.", variables={"booking_ref": "B-1234"}, context="A regular.")

`variables` and `context` go out as one `session_settings` message before the answer, so the LLM (context) and
the config's prompt (`{{booking_ref}}`) see them when EVI reads the answer. A `str` context is persistent (Hume
keeps one context per session: a new one replaces it); pass `Context(text=..., type=ContextType.TEMPORARY)` for
one that applies to the next response only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json

from service.evi.messages import Context, ContextType, SessionSettings

Variable = str | int | float | bool


@dataclass(frozen=True)
class ToolResult:
    """Return this from a tool to set session variables or context along with its answer."""

    content: Any
    """What `tool_response` carries: a str as-is, anything else as JSON text (as for a plain return value)."""
    variables: Mapping[str, Variable] = field(default_factory=dict)
    """Session variables, for `{{name}}` in the config's prompt; values are sent as strings."""
    context: str | Context | None = None

    def __post_init__(self) -> None:
        for name, value in self.variables.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"ToolResult variables need non-empty string names, not {name!r}")
            if not isinstance(value, Variable):
                raise TypeError(
                    f"ToolResult variable {name!r} must be a str, int, float or bool, not {type(value).__name__}"
                )
        if self.context is not None and not isinstance(self.context, str | Context):
            raise TypeError(f"ToolResult context= must be a str or a Context, not {type(self.context).__name__}")


@dataclass(frozen=True)
class ResultParts:
    """A handler's return value taken apart: the answer's text, and what goes into the session."""

    content: str
    plain_text: bool
    """The handler returned text (a sentence that can be spoken), not structured data sent as JSON."""
    variables: dict[str, str] = field(default_factory=dict)
    context: Context | None = None

    def session_settings(self, custom_session_id: str | None = None) -> SessionSettings | None:
        """The `session_settings` to send before the answer, or None when the result sets nothing."""
        if not self.variables and self.context is None:
            return None
        return SessionSettings(
            variables=self.variables or None, context=self.context, custom_session_id=custom_session_id
        )


def to_content(value: Any) -> str:
    """A tool's return value as `tool_response.content`: a str as-is, anything else as JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    return to_json(value).decode()


def result_parts(value: Any) -> ResultParts:
    """Raises what `to_content` raises for a value that is not JSON."""
    if not isinstance(value, ToolResult):
        return ResultParts(to_content(value), isinstance(value, str))
    context = value.context
    if isinstance(context, str):
        context = Context(text=context, type=ContextType.PERSISTENT)
    return ResultParts(
        to_content(value.content),
        isinstance(value.content, str),
        {name: _as_text(variable) for name, variable in value.variables.items()},
        context,
    )


def _as_text(value: Variable) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
