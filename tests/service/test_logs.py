"""Secrets never reach a log line, whoever logs them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from service.logs import redact_in_logs, secrets_from_environment

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
