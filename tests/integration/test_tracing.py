"""One trace per tool call, from the webhook request through the queue to the handler and the delivery, with the
SDK's in-memory exporter: the web app, a worker and the simulator (as Hume) in this process, on a real Redis."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from rq import Queue
from rq.serializers import JSONSerializer
from starlette.testclient import TestClient

from evi_toolhost.simulator import SimulatorState, create_simulator_app
from service.app import create_app
from service.observability import tracing
from service.queue.contract import TOOLS_QUEUE
from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY, make_settings
from tests.support.servers import UvicornThread
from tests.support.webhooks import signed, tool_call_payload
from workers.handlers.registry import Registry
from workers.runtime import Runtime, use_runtime
from workers.worker import ToolhostWorker

pytestmark = pytest.mark.integration

SENTINEL = "sentinel-argument-5d41402abc4b2a76"
"""An argument value: it must appear in no span."""
registry = Registry()


@registry.tool(timeout=5)
async def find_room(guest: str) -> str:
    """Looks a guest up, with a span of its own made with the plain OpenTelemetry API."""
    with trace.get_tracer("my-tools").start_as_current_span("my own lookup"):
        return "Room 12" if guest else "nobody"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    assert tracing.configure("test", exporter=exporter)
    yield exporter
    tracing.turn_off()


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """`Worker.work` installs RQ's SIGINT/SIGTERM handlers in this process: put pytest's back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.fixture
def traced_call(spans: InMemorySpanExporter, redis_url: str, keep_signal_handlers: None) -> list[ReadableSpan]:
    """One call of `find_room` through the web app, the queue and a worker, answered to the simulator; its spans."""
    spans.clear()
    state = SimulatorState()
    with UvicornThread(create_simulator_app(TEST_API_KEY, state)) as hume:
        settings = make_settings(redis_url=redis_url, hume_api_base_url=hume.url, relay_enabled=False)
        chat = state.start_chat()
        payload = tool_call_payload("find_room", {"guest": SENTINEL}, chat_id=chat.id)
        body, headers = signed(payload, TEST_SIGNING_KEY)
        with TestClient(create_app(settings, AsyncRedis.from_url(redis_url))) as web:
            assert web.post("/hume-webhook", content=body, headers=headers).status_code == 202
        redis = Redis.from_url(redis_url)
        with use_runtime(Runtime(settings, redis, registry=registry)):
            queue = Queue(TOOLS_QUEUE, connection=redis, serializer=JSONSerializer)
            ToolhostWorker([queue], connection=redis, concurrency=1).work(burst=True)
        (answer,) = state.answers_for(payload["tool_call_message"]["tool_call_id"])
        assert answer.message["content"] == "Room 12"
        redis.close()
    return list(spans.get_finished_spans())


def url_of(span: ReadableSpan) -> object:
    """An HTTP client span's URL, by either semantic convention."""
    return span.attributes.get("url.full", span.attributes.get("http.url"))


def named(spans: list[ReadableSpan], name: str) -> ReadableSpan:
    (found,) = [span for span in spans if span.name == name]
    return found


def parent_of(spans: list[ReadableSpan], span: ReadableSpan) -> ReadableSpan:
    assert span.parent is not None, f"{span.name} has no parent"
    (found,) = [s for s in spans if s.context.span_id == span.parent.span_id]
    return found


def test_one_trace_holds_the_web_request_the_worker_the_handler_and_the_delivery(
    traced_call: list[ReadableSpan],
) -> None:
    spans = traced_call
    web = next(s for s in spans if s.kind is SpanKind.SERVER and s.attributes.get("http.route") == "/hume-webhook")
    job, handler, own = named(spans, "evi.tool_call"), named(spans, "evi.handler"), named(spans, "my own lookup")
    delivery = named(spans, "evi.deliver")
    send = next(s for s in spans if s.kind is SpanKind.CLIENT and str(url_of(s)).endswith("/send"))
    assert {s.context.trace_id for s in (web, job, handler, own, delivery, send)} == {web.context.trace_id}
    assert parent_of(spans, own) is handler and parent_of(spans, handler) is job
    assert parent_of(spans, send) is delivery and parent_of(spans, delivery) is job
    assert parent_of(spans, job).context.trace_id == web.context.trace_id  # under the web request's span
    assert job.kind is SpanKind.CONSUMER
    call_id = str(job.attributes.get("evi.tool_call_id"))
    assert call_id.startswith("toolu_")
    assert (job.attributes.get("evi.tool"), job.attributes.get("evi.outcome")) == ("find_room", "answered")
    assert (web.attributes.get("evi.tool_call_id"), web.attributes.get("evi.outcome")) == (call_id, "queued")
    redis_in_trace = [s for s in spans if s.attributes.get("db.system") == "redis" or "redis" in s.name.lower()]
    assert redis_in_trace and all(s.context.trace_id == web.context.trace_id for s in redis_in_trace)


def test_no_argument_value_reaches_a_span(traced_call: list[ReadableSpan]) -> None:
    assert len(traced_call) > 5
    for span in traced_call:
        texts = [span.name, *map(str, span.attributes.values())]
        texts += [str(value) for event in span.events for value in [event.name, *event.attributes.values()]]
        texts += [str(value) for link in span.links for value in link.attributes.values()]
        assert not [text for text in texts if SENTINEL in text], span.name
        assert not [text for text in texts if TEST_API_KEY in text or TEST_SIGNING_KEY in text], span.name
