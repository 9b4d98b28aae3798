"""`ToolError`, for failures the LLM should hear about, and the error codes of our `tool_error` answers."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The `code` of a `tool_error` this service sends (a `ToolError` may carry its own code too)."""

    UNKNOWN_TOOL = "unknown_tool"
    INVALID_ARGUMENTS = "invalid_arguments"
    TOOL_ERROR = "tool_error"
    TOOL_FAILED = "tool_failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    """The call was stopped before it finished: the caller interrupted (`cancel_on_interrupt=True`)."""


class ToolError(Exception):
    """Raise from a tool to answer with a `tool_error`: `content` is what the LLM reads (and may say).

    Example: ``raise ToolError("No order has the number 123. Ask the caller to check it.", code="not_found")``
    """

    def __init__(self, content: str, code: str = ErrorCode.TOOL_ERROR) -> None:
        super().__init__(content)
        self.content = content
        self.code = str(code)
