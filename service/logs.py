"""One logging set-up for every process: time, level, logger, message, and no secret in any of it.

Libraries log what they see (websockets logs its handshake headers at DEBUG, the API key among
them), so secrets are redacted where every log record is made, whichever logger or handler it
goes through.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

REDACTED = "***"
SECRET_VARIABLES = ("HUME_API_KEY", "HUME_WEBHOOK_SIGNING_KEY", "MCP_TOKEN", "OPS_TOKEN")


def configure_logging(level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    redact_in_logs(secrets_from_environment())


def secrets_from_environment() -> list[str]:
    values = (os.environ.get(name, "") for name in SECRET_VARIABLES)
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def redact_in_logs(secrets: Iterable[str]) -> None:
    """Replace each secret with *** in every log record made from now on in this process."""
    hidden = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))
    if not hidden:
        return
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        message = record.getMessage()
        if any(secret in message for secret in hidden):
            record.msg, record.args = _redact(message, hidden), None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            if any(secret in text for secret in hidden):
                record.exc_text = _redact(text, hidden)
        return record

    logging.setLogRecordFactory(redacting_factory)


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text
