"""The walk's hooks for being seen, each one line in `workers.jobs`, `workers.tool_calls`, `workers.watchdog`:
the call's metrics (`workers.metrics`), its trace (`service.observability.tracing`) and the fields of its log
lines (`service.observability.log_context`). With tracing off (the default), a hook costs a counter or two.

Also what a worker or relay process starts once: tracing, and the sampler of its loop's lag.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from service.observability import tracing
from service.observability.log_context import log_context
from workers import metrics
from workers.loop_lag import sample_loop_lag

Record = Mapping[str, str | int | float | None]
DURATIONS = {
    "queue_wait_ms": ("started", "queued"),
    "handler_ms": ("finished", "started"),
    "delivery_ms": ("answered", "finished"),
    "total_ms": ("answered", "queued"),
}
"""The durations of a call's log line: (later, earlier) of its record's epoch-ms times."""


class JobSpan:
    """The outcome of a tool call's job, for its span."""

    def outcome(self, status: str) -> None:
        tracing.record_outcome(status, error=status in ("undeliverable",))


_JOB = JobSpan()


@contextmanager
def tool_call_job(event: Mapping[str, Any], trace_headers: Mapping[str, str] | None) -> Iterator[JobSpan]:
    """A tool call's job: its log lines carry the call's ids, and its span continues the intake's trace (whose
    context the job carried, `trace_headers`)."""
    call = event.get("tool_call_message") or {}
    ids = {"tool_call_id": call.get("tool_call_id"), "chat_id": event.get("chat_id"), "tool": call.get("name")}
    with log_context(ids):
        if not tracing.enabled():
            yield _JOB
            return
        with tracing.continued(trace_headers, "evi.tool_call", _span_attributes(ids)):
            yield _JOB


def _span_attributes(ids: Mapping[str, object]) -> dict[str, str]:
    return {f"evi.{key}": str(value) for key, value in ids.items() if value is not None}


class handler_running:
    """The handler runs: counted in flight, and a span a handler's own spans nest in."""

    __slots__ = ("span",)

    def __init__(self, tool: str) -> None:
        self.span = tracing.span("evi.handler", {"evi.tool": tool}) if tracing.enabled() else None

    def __enter__(self) -> None:
        metrics.IN_FLIGHT.inc()
        if self.span is not None:
            self.span.__enter__()

    def __exit__(self, *exc: Any) -> None:
        try:
            if self.span is not None:
                self.span.__exit__(*exc)
        finally:
            metrics.IN_FLIGHT.dec()


def delivering() -> Any:
    """The answer's delivery, as a span (the HTTP send or the relay's socket under it)."""
    return tracing.span("evi.deliver")


def call_finished(record: Record, *, answered: bool) -> None:
    """A worker's answer went out (or could not): counted. Not `answered`: left to the watchdog, which counts it."""
    if answered:
        metrics.call_finished(record)


async def watchdog_answering(call_id: str, answering: Awaitable[None]) -> None:
    """The watchdog answering an overdue call, as a span of its own (its HTTP send or socket under it)."""
    with tracing.span("evi.watchdog_answer", {"evi.tool_call_id": call_id}):
        await answering


def watchdog_answered(record: Record, fields: Record) -> None:
    """The watchdog answered (or could not deliver): counted, and the outcome on its span."""
    metrics.watchdog_answered(record, fields)
    tracing.set_attributes({"evi.tool": str(record.get("name")), "evi.outcome": str(fields.get("status"))})


def watchdog_log_fields(call_id: str, record: Record, fields: Record) -> dict[str, object]:
    """The ids, outcome and time since EVI's call of a watchdog's answer, for its log line's `extra=`."""
    found: dict[str, object] = {"tool_call_id": call_id, "chat_id": record.get("chat_id"), "tool": record.get("name")}
    found.update(log_fields(str(fields.get("status")), {**record, **fields}))
    received, answered = record.get("received_ms"), fields.get("answered_ms")
    if received is not None and answered is not None:
        found["total_ms"] = int(answered) - int(received)
    return found


def log_fields(status: str, record: Record) -> dict[str, object]:
    """A finished call's outcome and durations (ms), for its log line's `extra=`."""
    outcome, code, transport = metrics.outcome_labels(status, record.get("error_code"), record.get("transport"))
    fields: dict[str, object] = {"outcome": outcome, "transport": transport}
    if code:
        fields["code"] = code
    for name, (end, start) in DURATIONS.items():
        later, earlier = record.get(f"{end}_ms"), record.get(f"{start}_ms")
        if later is not None and earlier is not None:
            fields[name] = int(later) - int(earlier)
    return fields


def process_started(role: str, loop: asyncio.AbstractEventLoop) -> Callable[[], Awaitable[None]]:
    """In a worker or relay process, once: tracing (if asked for) and the lag sampler on `loop` (the process's
    runtime loop). Returns what to await on that loop as the process ends."""
    tracing.configure(role)
    sampler = asyncio.run_coroutine_threadsafe(sample_loop_lag(metrics.LOOP_LAG.set), loop)

    async def stop() -> None:
        sampler.cancel()
        tracing.flush()

    return stop
