"""The worker tier: RQ jobs that run tool calls (`workers.tool_calls`) and chat lifecycle (`workers.lifecycle`),
the return path (`workers.delivery`), the relay (`workers.relay`) and the worker processes.

The handler API is importable from here as well as from `evi_toolhost` (the same objects):

    from workers import ToolContext, ToolError, tool
"""

from workers.handlers.context import ChatContext, ToolContext
from workers.handlers.errors import ToolError
from workers.handlers.registry import on_chat_ended, on_chat_started, tool
from workers.handlers.results import ToolResult
from workers.transcripts import TranscriptLine

__all__ = [
    "ChatContext",
    "ToolContext",
    "ToolError",
    "ToolResult",
    "TranscriptLine",
    "on_chat_ended",
    "on_chat_started",
    "tool",
]
