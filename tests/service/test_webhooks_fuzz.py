"""No input makes the intake answer 5xx: thousands of signed bodies, generated from the spec's own webhook schemas
(hypothesis-jsonschema) and then mutated the ways the measured 500s came from (deep nesting, a non-string
`event_name`, lone surrogates, huge numbers, wrong types, missing fields, garbage), go through the real app on
a real Redis; each must get a 2xx or a 4xx with a JSON body naming the problem.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from evi_toolhost.embedded_redis import EmbeddedRedis
from service.app import create_app
from service.evi.spec_files import OPENAPI, schemas
from service.redis_client import connect_async
from tests.conftest import TEST_SIGNING_KEY, make_settings
from tests.support.webhooks import signed

EVENTS = ["WebhookEventToolCall", "WebhookEventChatStarted", "WebhookEventChatEnded"]
EXAMPLES = 2000
"""Signed bodies tried, at the least."""


def inlined(schema: Any, defs: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """The schema with every `#/components/schemas/...` reference replaced by what it names."""
    if isinstance(schema, list):
        return [inlined(item, defs, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[1]
        return {} if name in seen else inlined(defs[name], defs, (*seen, name))
    return {key: inlined(value, defs, seen) for key, value in schema.items() if key not in ("description", "title")}


def event_strategy() -> st.SearchStrategy[dict[str, Any]]:
    defs = schemas(OPENAPI)
    return st.one_of(*(from_schema(inlined(defs[name], defs)) for name in EVENTS))


SPEC_EVENTS = event_strategy()


WEIRD_VALUES = st.one_of(
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.just("\ud800"),
    st.just("a\udfffb"),
    st.text(max_size=20),
    st.none(),
    st.booleans(),
)


DEEP = "\u0000deep\u0000"
"""Stands for a deeply nested value while the event is serialised (json.dumps itself would recurse too deep)."""


KINDS = ["as is", "field", "event_name", "nesting", "drop", "parameters", "surrogate", "raw", "array", "truncated"]


def string_fields(value: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in string_fields(item, (*path, key))]
    return [path] if isinstance(value, str) else []


@st.composite
def mutated(draw: st.DrawFn) -> list[bytes]:
    """One event from the spec's schemas, and one body per kind of mutation of it."""
    base: dict[str, Any] = draw(SPEC_EVENTS)
    return [mutation(draw, json.loads(json.dumps(base)), kind) for kind in KINDS]


def mutation(draw: st.DrawFn, event: dict[str, Any], kind: str) -> bytes:
    if kind == "field" and event:
        event[draw(st.sampled_from(sorted(event)))] = draw(WEIRD_VALUES)
    elif kind == "event_name":
        event["event_name"] = draw(WEIRD_VALUES)
    elif kind == "nesting":
        event[draw(st.sampled_from(["extra", "chat_id", "tool_call_message"]))] = DEEP
    elif kind == "drop" and event:
        event.pop(draw(st.sampled_from(sorted(event))))
    elif kind == "parameters" and isinstance(event.get("tool_call_message"), dict):
        event["tool_call_message"]["parameters"] = draw(st.sampled_from(["[" * 10000, '{"a": "\\ud800"}', "null", ""]))
    elif kind == "surrogate" and (paths := string_fields(event)):
        *parents, leaf = draw(st.sampled_from(paths))
        holder = event
        for key in parents:
            holder = holder[key]
        holder[leaf] = draw(st.sampled_from(["\ud800", "id-\udfff", "\udbff\udbff"]))
    elif kind == "raw":
        return draw(st.binary(max_size=200))
    elif kind == "array":
        return json.dumps([event]).encode()
    text = json.dumps(event, allow_nan=True)
    if kind == "nesting":
        depth = draw(st.integers(1, 3000))
        text = text.replace(json.dumps(DEEP), "[" * depth + "1" + "]" * depth)
    elif kind == "truncated" and len(text) > 2:
        text = text[: draw(st.integers(1, len(text) - 1))]
    return text.encode("utf-8", errors="surrogatepass")


@pytest.fixture(scope="module")
def posted() -> Iterator[list[int]]:
    """Every status the intake answered in this module: at least EXAMPLES bodies must have been tried."""
    statuses: list[int] = []
    yield statuses
    assert len(statuses) >= EXAMPLES, f"only {len(statuses)} bodies were tried"


@pytest.fixture(scope="module")
def app_client(redis_server: EmbeddedRedis) -> Iterator[tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]]:
    """The app on a real Redis (fakeredis would take strings real Redis clients refuse to encode)."""
    loop = asyncio.new_event_loop()
    redis = connect_async(redis_server.url)
    app = create_app(make_settings(), redis=redis)
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://in")
    yield loop, client
    loop.run_until_complete(client.aclose())
    loop.run_until_complete(redis.aclose())
    loop.close()


@settings(
    max_examples=-(-EXAMPLES // len(KINDS)) + 10, deadline=None, suppress_health_check=list(HealthCheck), database=None
)
@given(bodies=mutated())
def test_no_signed_body_gets_a_5xx(
    app_client: tuple[asyncio.AbstractEventLoop, httpx.AsyncClient], posted: list[int], bodies: list[bytes]
) -> None:
    loop, client = app_client
    for body in bodies:
        payload, headers = signed(body, TEST_SIGNING_KEY)
        response = loop.run_until_complete(client.post("/hume-webhook", content=payload, headers=headers))
        posted.append(response.status_code)
        assert response.status_code < 500, (response.status_code, response.text, body[:200])
        if response.status_code >= 400:
            answer = response.json()
            assert answer["error"] and answer["detail"], answer
