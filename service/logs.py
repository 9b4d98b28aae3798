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
PER_CALL_LINES = {
    "httpx": None,  # "HTTP Request: POST ..." for every answer sent
    "rq.worker": {  # a job dequeued, completed, OK
        "Worker %s: %s: %s",
        "Worker %s: %s: %s (%s)",
        "Successfully completed %s job in %ss on worker %s",
        "Successfully completed job %s in %ss on worker %s",
    },
}
"""Libraries' INFO lines written for each call, beside the one line the walk writes (`tool call ... delivered by
http`, with ids, outcome and transport): None for all of a logger's INFO lines, else their message templates.
At LOG_LEVEL=DEBUG they are all kept."""

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
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name, templates in PER_CALL_LINES.items():
            logging.getLogger(name).addFilter(_DropInfoLines(templates))
    redact_in_logs(secrets)


class WithoutPerCallLines(logging.LoggerAdapter):  # type: ignore[type-arg]
    """`logger` with its `PER_CALL_LINES` dropped before a record is made. The logger's filter drops them too, but
    only once each record was made, formatted and scanned for secrets (`redact_in_logs`): RQ's two per-call lines
    took 2-3 % of a busy worker's CPU that way. Used for the worker's own `self.log`."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, {})
        self.templates = PER_CALL_LINES.get(logger.name, set())

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        if (self.templates is None or msg in self.templates) and not self.logger.isEnabledFor(logging.DEBUG):
            return
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1  # the caller's line, not this one
        super().info(msg, *args, **kwargs)


class _DropInfoLines(logging.Filter):
    def __init__(self, templates: set[str] | None) -> None:
        super().__init__()
        self.templates = templates

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        return self.templates is not None and record.msg not in self.templates


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
