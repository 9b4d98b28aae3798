"""`LOG_FORMAT=json`: one JSON object a line, the call's fields as keys of their own, no secret in any value."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from service.logs import redact_in_logs
from service.observability.json_logs import JsonFormatter
from service.observability.log_context import CallFields, log_context

KEY = "made-up-key-0123456789"


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing JSON lines to a buffer, with the redaction every process installs."""
    original = logging.getLogRecordFactory()
    redact_in_logs([KEY])
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter([KEY]))
    handler.addFilter(CallFields())
    logger = logging.getLogger("evi_toolhost.test_json_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, buffer
    logger.removeHandler(handler)
    logging.setLogRecordFactory(original)


def parsed(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_a_line_is_one_object_with_the_call_s_fields_as_keys(lines: tuple[logging.Logger, io.StringIO]) -> None:
    log, buffer = lines
    with log_context({"tool_call_id": "toolu_1", "chat_id": "chat-1", "tool": "get_weather"}):
        log.info("tool call %s: %s", "toolu_1", "delivered", extra={"outcome": "answered", "total_ms": 42})
    log.warning("outside any call")
    inside, outside = parsed(buffer)
    assert inside["message"] == "tool call toolu_1: delivered"
    assert (inside["tool_call_id"], inside["chat_id"], inside["tool"]) == ("toolu_1", "chat-1", "get_weather")
    assert (inside["outcome"], inside["total_ms"], inside["level"]) == ("answered", 42, "INFO")
    assert inside["logger"] == "evi_toolhost.test_json_logs" and inside["time"].endswith("+00:00")
    assert "tool_call_id" not in outside and outside["level"] == "WARNING"


def test_secrets_are_redacted_in_the_message_the_fields_and_the_traceback(
    lines: tuple[logging.Logger, io.StringIO],
) -> None:
    log, buffer = lines
    log.info("key %s", KEY, extra={"header": f"X-Hume-Api-Key: {KEY}", "nested": {"key": KEY}})
    try:
        raise ValueError(f"bad key {KEY}")
    except ValueError:
        log.exception("failed")
    assert KEY not in buffer.getvalue()
    message, failure = parsed(buffer)
    assert message["message"] == "key ***" and message["header"] == "X-Hume-Api-Key: ***"
    assert "bad key ***" in failure["exception"] and "ValueError" in failure["exception"]


def test_log_format_json_makes_every_process_line_json_and_text_stays_the_default() -> None:
    code = (
        "import logging; from service.logs import configure_logging; configure_logging();"
        "logging.getLogger('x').warning('hello %s', 'there')"
    )
    env = {"PATH": "/usr/bin:/bin", "HUME_API_KEY": KEY}
    as_json = subprocess.run([sys.executable, "-c", code], env={**env, "LOG_FORMAT": "json"}, capture_output=True,
                             text=True, check=True).stderr
    assert json.loads(as_json)["message"] == "hello there"
    as_text = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stderr
    assert as_text.rstrip().endswith("WARNING x: hello there")
