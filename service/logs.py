"""One logging set-up for every process: time, level, logger, message, and no secret in any of it.

Libraries log what they see (websockets logs its handshake headers at DEBUG, the API key among
them), so secrets are redacted where every log record is made, whichever logger or handler it
goes through. `LOG_FORMAT=json` writes one JSON object a line instead of text, with the current
tool call's fields as keys of their own (`service.observability.json_logs`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from service.observability.json_logs import JsonFormatter
from service.observability.log_context import CallFields

REDACTED = "***"
SECRET_VARIABLES = ("HUME_API_KEY", "HUME_WEBHOOK_SIGNING_KEY", "MCP_TOKEN", "OPS_TOKEN")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FORMATS = ("text", "json")

_configured = False


def configure_logging(level: str | None = None) -> None:
    """Once per process (later calls do nothing): the root handler in `LOG_FORMAT` (text unless it says json; an
    invalid value is reported by the settings), at `LOG_LEVEL`, and secrets redacted."""
    global _configured
    if _configured:
        return
    _configured = True
    secrets = secrets_from_environment()
    handler = logging.StreamHandler()
    if os.environ.get("LOG_FORMAT", "text").strip().lower() == "json":
        handler.setFormatter(JsonFormatter(secrets))
        handler.addFilter(CallFields())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=(level or os.environ.get("LOG_LEVEL", "INFO")).upper(), handlers=[handler])
    redact_in_logs(secrets)


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
