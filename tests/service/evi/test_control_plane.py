"""`HttpControlPlane`: the request it makes, its retry policy, and connection reuse."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.evi.control_plane import HttpControlPlane, RetryPolicy, Undeliverable
from service.evi.messages import AssistantInput, ToolResponseMessage
from tests.conftest import TEST_API_KEY
from tests.support.servers import UvicornThread

ANSWER = ToolResponseMessage(content="sunny", tool_call_id="call-1", tool_name="get_weather")
FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)


def scripted(statuses: list[int], seen: list[httpx.Request]) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = statuses.pop(0) if statuses else 200
        return httpx.Response(status, json={} if status == 200 else {"error": "nope"})

    return handle


def plane(handler: Callable[[httpx.Request], httpx.Response], retry: RetryPolicy = FAST) -> HttpControlPlane:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return HttpControlPlane("https://hume.test/", TEST_API_KEY, client, retry=retry, rng=random.Random(7))


def test_request_shape() -> None:
    seen: list[httpx.Request] = []
    asyncio.run(plane(scripted([], seen)).send("chat/1", ANSWER))
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == "https://hume.test/v0/evi/chat/chat%2F1/send"
    assert request.headers["X-Hume-Api-Key"] == TEST_API_KEY
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "type": "tool_response",
        "content": "sunny",
        "tool_call_id": "call-1",
        "tool_name": "get_weather",
    }


def test_503_503_200_delivers_once_after_two_retries() -> None:
    seen: list[httpx.Request] = []
    attempts = asyncio.run(plane(scripted([503, 503], seen)).send("chat-1", ANSWER, deadline=time.time() + 5))
    assert len(seen) == attempts == 3


@pytest.mark.parametrize("status", [408, 429, 500, 502, 504])
def test_other_retryable_statuses(status: int) -> None:
    seen: list[httpx.Request] = []
    asyncio.run(plane(scripted([status], seen)).send("chat-1", ANSWER, deadline=time.time() + 5))
    assert len(seen) == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_other_4xx_is_not_retried(status: int) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(Undeliverable) as info:
        asyncio.run(plane(scripted([status], seen)).send("chat-1", ANSWER, deadline=time.time() + 5))
    assert len(seen) == info.value.attempts == 1
    assert (info.value.status, info.value.gave_up) == (status, False)
    assert info.value.body == '{"error":"nope"}'


def test_network_errors_are_retried() -> None:
    attempts: list[httpx.Request] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        if len(attempts) == 1:
            raise httpx.ConnectError("refused")
        if len(attempts) == 2:
            raise httpx.RemoteProtocolError("server closed the connection")
        return httpx.Response(200, json={})

    asyncio.run(plane(flaky).send("chat-1", ANSWER, deadline=time.time() + 5))
    assert len(attempts) == 3


def test_each_attempt_to_be_retried_is_told_with_its_status() -> None:
    seen: list[httpx.Request] = []
    retried: list[int | None] = []
    statuses = [503, 429]

    def handle(request: httpx.Request) -> httpx.Response:
        if not seen:
            seen.append(request)
            raise httpx.ConnectError("refused")
        return scripted(statuses, seen)(request)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    sender = HttpControlPlane("https://hume.test", TEST_API_KEY, client, retry=FAST, on_retry=retried.append)
    asyncio.run(sender.send("chat-1", ANSWER, deadline=time.time() + 5))
    assert (retried, len(seen)) == ([None, 503, 429], 4)


def test_retries_stop_at_the_deadline() -> None:
    seen: list[httpx.Request] = []
    slow = RetryPolicy(base_delay=0.05, max_delay=0.05)
    started = time.monotonic()
    with pytest.raises(Undeliverable) as info:
        asyncio.run(plane(scripted([503] * 100, seen), slow).send("chat-1", ANSWER, deadline=time.time() + 0.3))
    assert time.monotonic() - started < 0.45
    assert 1 < len(seen) == info.value.attempts < 20
    assert (info.value.status, info.value.gave_up) == (503, True)


def test_a_control_plane_down_longer_than_eight_attempts_is_retried_until_the_deadline() -> None:
    seen: list[httpx.Request] = []
    quick = RetryPolicy(base_delay=0.01, max_delay=0.02)
    asyncio.run(plane(scripted([500] * 30, seen), quick).send("chat-1", ANSWER, deadline=time.time() + 5))
    assert len(seen) == 31  # 30 refusals, then the answer: no count of attempts gives up first


@pytest.mark.parametrize("status", [408, 425, 429])
def test_these_4xx_are_worth_another_try(status: int) -> None:
    seen: list[httpx.Request] = []
    asyncio.run(plane(scripted([status], seen)).send("chat-1", ANSWER, deadline=time.time() + 5))
    assert len(seen) == 2


def test_without_a_deadline_a_send_stops_after_its_attempts() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(Undeliverable):
        asyncio.run(
            plane(scripted([503] * 20, seen), RetryPolicy(base_delay=0.001, max_delay=0.001)).send("chat-1", ANSWER)
        )
    assert len(seen) == RetryPolicy().max_attempts_without_deadline


def test_one_attempt_even_when_the_deadline_has_passed() -> None:
    seen: list[httpx.Request] = []
    assert asyncio.run(plane(scripted([], seen)).send("chat-1", ANSWER, deadline=time.time() - 1)) == 1
    assert len(seen) == 1


def test_retry_after_is_honoured_within_the_deadline() -> None:
    times: list[float] = []

    def limited(request: httpx.Request) -> httpx.Response:
        times.append(time.monotonic())
        return httpx.Response(429, headers={"Retry-After": "0.2"}) if len(times) == 1 else httpx.Response(200)

    asyncio.run(plane(limited).send("chat-1", ANSWER, deadline=time.time() + 2))
    assert times[1] - times[0] >= 0.19


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0)
    rng = random.Random(1)
    for attempt, cap in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (9, 1.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert 0 <= min(delays) < cap * 0.1
        assert cap * 0.9 < max(delays) <= cap


def test_the_api_key_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[httpx.Request] = []
    with pytest.raises(Undeliverable) as info:
        asyncio.run(plane(scripted([503, 404], seen)).send("chat-1", ANSWER, deadline=time.time() + 5))
    assert caplog.records, "expected the retry and the refusal to be logged"
    assert TEST_API_KEY not in caplog.text
    assert TEST_API_KEY not in str(info.value) and TEST_API_KEY not in repr(plane(scripted([], [])))


def test_connections_are_reused_across_sends() -> None:
    """A real server: 20 sends over one client open one TCP connection (keep-alive)."""
    ports: list[int] = []

    async def send(request: Request) -> JSONResponse:
        assert request.client is not None
        ports.append(request.client.port)
        return JSONResponse({})

    app = Starlette(routes=[Route("/v0/evi/chat/{chat_id}/send", send, methods=["POST"])])

    async def twenty(base_url: str) -> None:
        control_plane = HttpControlPlane(base_url, TEST_API_KEY)
        try:
            for _ in range(20):
                await control_plane.send("chat-1", AssistantInput(text="hi"), deadline=time.time() + 5)
        finally:
            await control_plane.aclose()

    with UvicornThread(app) as server:
        asyncio.run(twenty(server.url))
    assert len(ports) == 20
    assert len(set(ports)) == 1
