"""Values kept out of this process's logs while the calls that carry them run: a redacted argument's value
(`@tool(redact=...)`) is replaced with `***` in every log record made meanwhile, by our code or the handler's
(an exception message that quotes it, a traceback, a library's debug line), whichever logger writes it.

Like the secrets of `service.logs`, the replacement happens where log records are made. Between calls of tools
without sensitive arguments it costs one check of an empty tuple per record.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from workers.handlers.redaction import scrub

_lock = threading.Lock()
_counts: Counter[str] = Counter()
_current: tuple[str, ...] = ()
"""Every value hidden now, longest first (read without the lock: replaced whole, never changed in place)."""
_installed = False


def _refresh() -> None:
    global _current
    _current = tuple(sorted(_counts, key=len, reverse=True))


def _install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    make_record = logging.getLogRecordFactory()

    def hiding_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        values = _current
        if not values:
            return record
        message = record.getMessage()
        if any(value in message for value in values):
            record.msg, record.args = scrub(message, values), None
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            if any(value in text for value in values):
                record.exc_text = scrub(text, values)
        return record

    logging.setLogRecordFactory(hiding_factory)


@contextmanager
def hidden(values: tuple[str, ...]) -> Iterator[None]:
    """Hide `values` from every log record this process makes until the block ends (nothing to do for none)."""
    if not values:
        yield
        return
    _install()
    with _lock:
        _counts.update(values)
        _refresh()
    try:
        yield
    finally:
        with _lock:
            _counts.subtract(values)
            for value in values:
                if _counts[value] <= 0:
                    del _counts[value]
            _refresh()
