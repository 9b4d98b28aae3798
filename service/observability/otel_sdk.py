"""The OpenTelemetry SDK, set up from the standard `OTEL_*` variables, with the official starlette, httpx and redis
instrumentations. Imported only once tracing is asked for (`service.observability.tracing`): it needs the `otel`
extra.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.instrumentation.starlette import StarletteInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Decision, ParentBased, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, Tracer
from opentelemetry.util.types import Attributes

log = logging.getLogger("evi_toolhost.tracing")

TRACER_NAME = "evi_toolhost"
EXPORTER_GROUP = "opentelemetry_traces_exporter"
_provider: TracerProvider | None = None


class NoLoneClientSpans(Sampler):
    """Traces start only at our own work: a Redis command or HTTP request made outside any trace (RQ's polling and
    heartbeats, the relay's scans) is not recorded; `root` decides for every other span without a parent."""

    def __init__(self, root: Sampler) -> None:
        self.root = root

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        if kind is SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return self.root.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return f"NoLoneClientSpans{{{self.root.get_description()}}}"


def exporters_from_environment() -> list[SpanExporter]:
    """The exporters `OTEL_TRACES_EXPORTER` names (default: OTLP, when only an endpoint is set)."""
    names = [n.strip().lower() for n in os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",") if n.strip()]
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "none":
            continue
        if name == "otlp":
            name = "otlp_proto_grpc" if protocol == "grpc" else "otlp_proto_http"
        found = list(entry_points(group=EXPORTER_GROUP, name=name))
        if not found:
            log.warning("OTEL_TRACES_EXPORTER names %r, which no installed package provides; it is left out", name)
            continue
        exporters.append(found[0].load()())
    return exporters


def start(role: str, exporter: SpanExporter | None) -> Tracer | None:
    """This process's tracer with its provider set globally (so a handler's own spans join the call's trace) and
    the instrumentations on; None when no exporter is to be had."""
    global _provider
    exporters = [exporter] if exporter is not None else exporters_from_environment()
    if not exporters:
        return None
    if _provider is None:
        attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: f"evi-toolhost-{role}"}
        _provider = TracerProvider(resource=Resource.create(attributes))
        _provider.sampler = ParentBased(NoLoneClientSpans(_provider.sampler))
        trace.set_tracer_provider(_provider)
    for each in exporters:
        processor = SimpleSpanProcessor(each) if exporter is not None else BatchSpanProcessor(each)
        _provider.add_span_processor(processor)
    HTTPXClientInstrumentor().instrument(tracer_provider=_provider)
    RedisInstrumentor().instrument(tracer_provider=_provider)
    log.info("tracing on: %s", ", ".join(type(each).__name__ for each in exporters))
    return _provider.get_tracer(TRACER_NAME)


def instrument_app(app: Any) -> None:
    StarletteInstrumentor.instrument_app(app, tracer_provider=_provider)


def flush() -> None:
    if _provider is not None:
        _provider.force_flush()


def stop() -> None:
    """Export what is pending and undo the instrumentations (tests)."""
    flush()
    HTTPXClientInstrumentor().uninstrument()
    RedisInstrumentor().uninstrument()
