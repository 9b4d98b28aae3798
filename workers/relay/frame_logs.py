"""The relay's socket library logs every frame at DEBUG (`websockets.client`: `< TEXT '{"type":"tool_call",...'`):
a tool call's frame would put its arguments in the log, redacted ones included (the relay does not know the
tools). Its frames are logged without their content; every other frame is logged as the library writes it."""

from __future__ import annotations

import logging

from websockets.frames import Frame

SOCKET_LOGGER = "websockets.client"
_TOOL_CALL = b'"tool_call"'


class ToolCallFramesWithoutContent(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], Frame) and _TOOL_CALL in args[0].data:
            frame = args[0]
            direction = str(record.msg).split(" ")[0]
            record.msg = f"{direction} {frame.opcode.name} (a tool_call: content not logged) [{len(frame.data)} bytes]"
            record.args = None
        return True


def hide_tool_call_frames() -> None:
    """Install the filter on the socket library's logger (once)."""
    logger = logging.getLogger(SOCKET_LOGGER)
    if not any(isinstance(f, ToolCallFramesWithoutContent) for f in logger.filters):
        logger.addFilter(ToolCallFramesWithoutContent())
