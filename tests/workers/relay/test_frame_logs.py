"""The socket library's frame log lines: a tool call's content is left out, every other frame logged as it is."""

from __future__ import annotations

import json
import logging

import pytest
from websockets.frames import Frame, Opcode

from workers.relay.frame_logs import SOCKET_LOGGER, hide_tool_call_frames


def test_a_tool_call_frame_is_logged_without_its_content(caplog: pytest.LogCaptureFixture) -> None:
    hide_tool_call_frames()
    hide_tool_call_frames()  # once is enough: a second call adds nothing
    logger = logging.getLogger(SOCKET_LOGGER)
    caplog.set_level(logging.DEBUG, logger=SOCKET_LOGGER)
    call = json.dumps({"type": "tool_call", "name": "pay", "parameters": '{"card_number": "4111"}'}).encode()
    logger.debug("< %s", Frame(Opcode.TEXT, call))
    logger.debug("< %s", Frame(Opcode.TEXT, b'{"type":"user_message"}'))
    hidden, shown = (record.getMessage() for record in caplog.records)
    assert hidden == f"< TEXT (a tool_call: content not logged) [{len(call)} bytes]"
    assert "user_message" in shown
    assert len([f for f in logger.filters if type(f).__name__ == "ToolCallFramesWithoutContent"]) == 1
