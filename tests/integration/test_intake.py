"""The webhook intake as deployed: `evi-toolhost web` under uvicorn, over a socket, on a real Redis."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator

import httpx
import pytest
from redis import Redis
from rq import Queue
from rq.serializers import JSONSerializer

from evi_toolhost.embedded_redis import EmbeddedRedis
from service.queue.contract import TOOLS_QUEUE
from tests.conftest import TEST_SIGNING_KEY
from tests.support.servers import ServiceProcess, service_env, web_process
from tests.support.webhooks import signed, tool_call_payload

pytestmark = pytest.mark.integration


def start_web(redis_url: str) -> ServiceProcess:
    return web_process({**service_env(redis_url), "RETRY_AFTER_SECONDS": "3"})


@pytest.fixture
def web(redis_url: str) -> Iterator[str]:
    with start_web(redis_url) as process:
        yield process.url


def tool_jobs(redis: Redis) -> list[str]:
    return Queue(TOOLS_QUEUE, connection=redis, serializer=JSONSerializer).job_ids


def test_a_signed_tool_call_becomes_one_rq_job_carrying_the_event(web: str, real_redis: Redis) -> None:
    payload = tool_call_payload(tool_call_id="toolu_real_1")
    body, headers = signed(payload, TEST_SIGNING_KEY)
    response = httpx.post(f"{web}/hume-webhook", content=body, headers=headers)
    assert response.status_code == 202, response.text
    job = Queue(TOOLS_QUEUE, connection=real_redis, serializer=JSONSerializer).fetch_job(response.json()["job_id"])
    assert job is not None
    assert job.args == [payload]
    again = httpx.post(f"{web}/hume-webhook", content=body, headers=headers)
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")


def test_fifty_concurrent_copies_make_exactly_one_job(web: str, real_redis: Redis) -> None:
    body, headers = signed(tool_call_payload(tool_call_id="toolu_storm"), TEST_SIGNING_KEY)

    async def storm() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            return await asyncio.gather(
                *(client.post(f"{web}/hume-webhook", content=body, headers=headers) for _ in range(50))
            )

    responses = asyncio.run(storm())
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["duplicate"] * 49 + ["queued"]
    assert tool_jobs(real_redis) == ["tool_call-toolu_storm"]


def test_redis_down_gives_503_and_the_redelivery_is_queued_once_it_is_back() -> None:
    body, headers = signed(tool_call_payload(tool_call_id="toolu_outage"), TEST_SIGNING_KEY)
    first = EmbeddedRedis().start()
    try:
        with start_web(first.url) as process:
            url = process.url
            first.stop()
            down = httpx.post(f"{url}/hume-webhook", content=body, headers=headers, timeout=10)
            assert down.status_code == 503
            assert down.headers["Retry-After"] == "3"
            assert httpx.get(f"{url}/readyz").status_code == 503

            with EmbeddedRedis(port=first.port) as revived:
                back = httpx.post(f"{url}/hume-webhook", content=body, headers=headers, timeout=10)
                assert (back.status_code, back.json()["status"]) == (202, "queued")
                assert tool_jobs(Redis.from_url(revived.url)) == ["tool_call-toolu_outage"]
    finally:
        first.stop()


def exchange(sock: socket.socket, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    """One request on an open connection, and the response's status and headers (its body read in full)."""
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    request = f"POST /hume-webhook HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode()
    sock.sendall(request + body)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection"
        data += chunk
    raw_head, rest = data.split(b"\r\n\r\n", 1)
    status_line, *lines = raw_head.decode().split("\r\n")
    response_headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    while len(rest) < int(response_headers.get("content-length", "0")):
        rest += sock.recv(65536)
    return int(status_line.split()[1]), response_headers


def test_every_refusal_keeps_the_keep_alive_connection(web: str) -> None:
    def signed_raw(body: bytes) -> tuple[bytes, dict[str, str]]:
        return signed(body, TEST_SIGNING_KEY)

    valid = tool_call_payload()
    deep = tool_call_payload()
    cases: list[tuple[bytes, dict[str, str], int]] = [
        (*signed_raw(b"{not json"), 400),
        (*signed_raw(b'{"event_name": "tool_call", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"), 400),
        (*signed_raw(b'{"event_name": ["tool_call"]}'), 422),
        (*signed_raw(json.dumps({**valid, "chat_id": "\ud800"}).encode()), 422),
        (*signed_raw(json.dumps({**deep, "extra": "DEEP"}).encode().replace(b'"DEEP"', b"[" * 40 + b"]" * 40)), 422),
        (*signed_raw(json.dumps({"event_name": "tool_call"}).encode()), 422),
        (*signed_raw(b"x" * 300_000), 413),
        (*signed_raw(json.dumps({"event_name": "chat_paused"}).encode()), 202),
        (json.dumps(valid).encode(), {"Content-Type": "application/json"}, 401),
        (*signed_raw(json.dumps(valid).encode()), 202),
    ]
    port = int(web.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for body, headers, expected in cases:
            status, response_headers = exchange(sock, body, headers)
            assert status == expected, (body[:80], status)
            assert response_headers.get("connection", "").lower() != "close"
