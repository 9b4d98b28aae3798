"""OpenTelemetry tracing, optional: one trace per tool call, from the webhook request through the queue to the
handler and the delivery of its answer.

On when the `otel` extra is installed (`pip install 'evi-toolhost[otel]'`), `OTEL_SDK_DISABLED` is not true and
the standard variables name an exporter (`OTEL_TRACES_EXPORTER`, or an OTLP endpoint in
`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); the SDK reads the rest of `OTEL_*` itself
(service name, resource attributes, sampler, batching, the exporter's endpoint and headers). Off, nothing of
OpenTelemetry is imported and every function here returns at once.

The trace context crosses the queue in the job (`carrier()` at the intake, `continued(...)` in the worker). Spans
carry the tool's name, the chat and call ids and the outcome; never an argument or a secret. Redis commands and
HTTP requests outside any trace (RQ's polling, heartbeats) are not traced: a client span needs a parent.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

log = logging.getLogger("evi_toolhost.tracing")

Attributes = Mapping[str, str | int | float | bool]
SECRET_HEADERS = ("x-hume-api-key", "x-hume-ai-webhook-signature", "authorization", "cookie")
"""Headers an instrumentation must never record, even when told to capture headers."""
_SANITIZE = "OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"
NOT_TRACED_PATHS = ("/healthz", "/readyz", "/metrics")
"""Requests whose traces would be noise: probes and scrapes."""

_tracer: Any = None
"""The tracer of this process while tracing is on (an `opentelemetry.trace.Tracer`), else None."""
_NOTHING = contextlib.nullcontext()


def enabled() -> bool:
    return _tracer is not None


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for traces: an exporter is named, and the SDK is not disabled."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return exporters != "none"
    return bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def configure(role: str, *, exporter: Any = None) -> bool:
    """Turn tracing on in this process (`role`: web, worker, relay) if the environment asks for it, or with
    `exporter` (an SDK `SpanExporter`, exported from at once: tests). Returns whether tracing is on.

    Call it once per process, before its clients are made; a forked child calls it itself."""
    global _tracer
    if _tracer is not None:
        return True
    if exporter is None and not wanted():
        return False
    _protect_secret_headers()
    _leave_out_probes()
    try:
        from service.observability import otel_sdk  # the instrumentations read both settings when imported
    except ImportError:
        log.warning("OTEL_* asks for traces, but the otel extra is not installed: pip install 'evi-toolhost[otel]'")
        return False
    _tracer = otel_sdk.start(role, exporter)
    return _tracer is not None


def _protect_secret_headers() -> None:
    listed = [name.strip() for name in os.environ.get(_SANITIZE, "").split(",") if name.strip()]
    os.environ[_SANITIZE] = ",".join(dict.fromkeys([*listed, *SECRET_HEADERS]))


def _leave_out_probes() -> None:
    """Health probes and scrapes make no traces (besides what `OTEL_PYTHON_*EXCLUDED_URLS` already leave out)."""
    name = "OTEL_PYTHON_STARLETTE_EXCLUDED_URLS"
    listed = os.environ.get(name) or os.environ.get("OTEL_PYTHON_EXCLUDED_URLS") or ""
    paths = [path.strip() for path in listed.split(",") if path.strip()]
    os.environ[name] = ",".join(dict.fromkeys([*paths, *NOT_TRACED_PATHS]))


def instrument_app(app: Any) -> None:
    """Trace every request of this Starlette app (the official instrumentation), when tracing is on."""
    if _tracer is not None:
        from service.observability import otel_sdk

        otel_sdk.instrument_app(app)


def carrier() -> dict[str, str]:
    """The current trace context as W3C headers (`traceparent`, ...), to travel with a job; empty when off."""
    if _tracer is None:
        return {}
    from opentelemetry.propagate import inject

    headers: dict[str, str] = {}
    inject(headers)
    return headers


def queued(event: Any) -> dict[str, str]:
    """An event being queued: its ids on the current span, and the trace context for its job (empty when off)."""
    if _tracer is None:
        return {}
    attributes = {"evi.event": event.event_name, "evi.chat_id": event.chat_id}
    call = getattr(event, "tool_call_message", None)
    if call is not None:
        attributes.update({"evi.tool": call.name, "evi.tool_call_id": call.tool_call_id})
    set_attributes(attributes)
    return carrier()


def span(name: str, attributes: Attributes | None = None) -> contextlib.AbstractContextManager[Any]:
    """A child span of the current one for the block (nothing when off)."""
    if _tracer is None:
        return _NOTHING
    return _tracer.start_as_current_span(name, attributes=attributes)  # type: ignore[no-any-return]


@contextlib.contextmanager
def continued(headers: Mapping[str, str] | None, name: str, attributes: Attributes | None = None) -> Iterator[None]:
    """A span for the block, continuing the trace whose context `headers` carry (`carrier()` elsewhere); a new
    trace when they carry none. Nothing when off."""
    if _tracer is None:
        yield
        return
    from opentelemetry.propagate import extract
    from opentelemetry.trace import SpanKind

    context = extract(dict(headers or {}))
    with _tracer.start_as_current_span(name, context=context, kind=SpanKind.CONSUMER, attributes=attributes):
        yield


def set_attributes(attributes: Attributes) -> None:
    """Add attributes to the current span (nothing when off)."""
    if _tracer is None:
        return
    from opentelemetry.trace import get_current_span

    get_current_span().set_attributes(attributes)


def record_outcome(outcome: str, error: bool = False) -> None:
    """The outcome of the current span's work; `error` marks the span failed."""
    if _tracer is None:
        return
    from opentelemetry.trace import Status, StatusCode, get_current_span

    current = get_current_span()
    current.set_attribute("evi.outcome", str(outcome))
    if error:
        current.set_status(Status(StatusCode.ERROR, outcome))


def flush() -> None:
    """Export the spans still batched (a process about to end: a pool's worker exits without `atexit`)."""
    if _tracer is not None:
        from service.observability import otel_sdk

        otel_sdk.flush()


def turn_off() -> None:
    """Tracing off again in this process, the instrumentations undone (tests)."""
    global _tracer
    if _tracer is not None:
        from service.observability import otel_sdk

        otel_sdk.stop()
        _tracer = None
