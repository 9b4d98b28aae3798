"""Secrets never reach a log line, whoever logs them; libraries' per-call INFO lines are left out unless DEBUG."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from service.logs import WithoutPerCallLines, redact_in_logs, secrets_from_environment

KEY = "made-up-key-0123456789"


@pytest.fixture
def redacting() -> Iterator[None]:
    original = logging.getLogRecordFactory()
    redact_in_logs([KEY, ""])
    yield
    logging.setLogRecordFactory(original)


def test_a_secret_in_a_message_or_its_arguments_is_redacted(redacting: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("websockets.client").debug("> X-Hume-Api-Key: %s", KEY)
    logging.getLogger("anything").info(f"key={KEY}; again {KEY}")
    assert caplog.messages == ["> X-Hume-Api-Key: ***", "key=***; again ***"]


def test_a_secret_in_a_traceback_is_redacted(redacting: None, caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise ValueError(f"bad key {KEY}")
    except ValueError:
        logging.getLogger("x").exception("failed")
    assert KEY not in caplog.text
    assert "bad key ***" in caplog.text


def test_other_messages_are_left_alone(redacting: None, caplog: pytest.LogCaptureFixture) -> None:
    logging.getLogger("x").warning("tool %s answered in %d ms", "get_weather", 12)
    assert caplog.messages == ["tool get_weather answered in 12 ms"]


def test_the_ops_token_is_one_of_the_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TOKEN", "a-made-up-ops-token-of-some-length")
    assert "a-made-up-ops-token-of-some-length" in secrets_from_environment()


PER_CALL = """
import logging
from service.logs import configure_logging
configure_logging()
worker = logging.getLogger("rq.worker")
worker.info("Worker %s: %s: %s", "w1", "evi-tools", "tool_call-toolu_1")
worker.info("Worker %s: %s: %s (%s)", "w1", "evi-tools", "Job OK", "tool_call-toolu_1")
worker.info("Worker %s: stopping on request", "w1")
worker.warning("Worker %s: %s: %s", "w1", "evi-tools", "warned")
logging.getLogger("httpx").info("HTTP Request: %s %s", "POST", "http://127.0.0.1/v0/evi/chat/c/send")
logging.getLogger("httpx").warning("httpx warned")
logging.getLogger("evi_toolhost.tool_calls").info("tool call toolu_1 (noop): tool_response delivered by http")
"""


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_libraries_per_call_info_lines_are_left_out_unless_debug(level: str) -> None:
    env = {"LOG_LEVEL": level, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", PER_CALL], env=env, capture_output=True, text=True, check=True)
    lines = done.stderr
    kept = ["stopping on request", "warned", "httpx warned", "delivered by http"]
    left_out = ["tool_call-toolu_1", "Job OK", "HTTP Request"]
    assert all(text in lines for text in kept), lines
    assert all((text in lines) == (level == "DEBUG") for text in left_out), lines


@pytest.mark.parametrize("level", [logging.INFO, logging.DEBUG])
def test_the_worker_s_log_makes_no_record_of_a_per_call_line_unless_debug(
    level: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    made: list[str] = []
    callers: list[str] = []
    factory = logging.getLogRecordFactory()

    def counting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        made.append(record.getMessage())
        callers.append(record.funcName)
        return record

    monkeypatch.setattr(logging, "_logRecordFactory", counting)
    caplog.set_level(level, logger="rq.worker")
    log = WithoutPerCallLines(logging.getLogger("rq.worker"))

    log.info("Worker %s: %s: %s", "w1", "evi-tools", "tool_call-toolu_1")
    log.info("Worker %s: stopping on request", "w1")
    log.warning("Worker %s: %s: %s", "w1", "evi-tools", "warned")

    per_call = ["Worker w1: evi-tools: tool_call-toolu_1"] if level == logging.DEBUG else []
    assert made == [*per_call, "Worker w1: stopping on request", "Worker w1: evi-tools: warned"]
    assert callers == [sys._getframe().f_code.co_name] * len(made)  # the caller's line, not the adapter's
