"""Tracing off by default: nothing of OpenTelemetry is loaded and every hook does nothing; on only when the
environment names an exporter."""

from __future__ import annotations

import subprocess
import sys

import pytest

from service.observability import tracing


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_SERVICE_NAME": "tools"}, False),
    ],
)
def test_traces_are_wanted_only_when_an_exporter_is_named_and_the_sdk_is_not_disabled(
    environ: dict[str, str], wanted: bool
) -> None:
    assert tracing.wanted(environ) is wanted


def test_off_every_hook_does_nothing() -> None:
    assert not tracing.enabled()
    assert tracing.carrier() == {}
    with tracing.span("x"), tracing.continued({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}, "y"):
        tracing.set_attributes({"a": "b"})
        tracing.record_outcome("answered")


def test_off_the_web_app_and_a_worker_s_walk_set_up_nothing_of_opentelemetry() -> None:
    """(redis-py itself imports parts of the OpenTelemetry SDK when it is installed: not ours to load.)"""
    code = """
import sys
from opentelemetry import trace
from service.app import create_app
from service.observability import tracing
import workers.jobs, workers.relay.relay
from tests.conftest import make_settings
create_app(make_settings())
ours = [m for m in sys.modules if m.startswith(("opentelemetry.instrumentation", "service.observability.otel_sdk"))]
print(tracing.configure("web"), type(trace.get_tracer_provider()).__name__, ours)
"""
    env = {"PATH": "/usr/bin:/bin", "OTEL_SERVICE_NAME": "tools"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "ProxyTracerProvider", "[]"]


def test_configured_with_an_exporter_in_the_environment_it_is_on_and_keys_are_never_captured() -> None:
    code = """
import os
from service.observability import tracing
print(tracing.configure("worker"), os.environ["OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SANITIZE_FIELDS"])
"""
    env = {"PATH": "/usr/bin:/bin", "OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "10"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    on, sanitized = out.split()
    assert on == "True"
    assert {"x-hume-api-key", "x-hume-ai-webhook-signature", "authorization"} <= set(sanitized.split(","))
