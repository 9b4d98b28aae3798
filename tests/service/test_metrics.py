"""The web process's metrics on fakeredis: each webhook counted by event and outcome as it was answered, and the
queues' depth and live workers read when scraped."""

from __future__ import annotations

from collections.abc import Iterator

import fakeredis
import pytest
from starlette.testclient import TestClient

from service.app import create_app
from service.metrics import REJECTIONS, outcome_of
from service.queue import contract
from tests.conftest import TEST_SIGNING_KEY, make_settings
from tests.support.metrics import Scrape, add
from tests.support.webhooks import chat_started_payload, signed, tool_call_payload


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def client(server: fakeredis.FakeServer) -> Iterator[TestClient]:
    app = create_app(make_settings(webhook_max_body_bytes=4096), redis=fakeredis.FakeAsyncRedis(server=server))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def scrape(client: TestClient) -> Scrape:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)


def test_each_webhook_is_counted_by_event_and_outcome_with_the_reason_of_a_refusal(client: TestClient) -> None:
    before = scrape(client)
    answers = []
    for payload, key in [
        (tool_call_payload(tool_call_id="toolu_m1"), TEST_SIGNING_KEY),
        (tool_call_payload(tool_call_id="toolu_m1"), TEST_SIGNING_KEY),  # redelivered
        (chat_started_payload("chat-m"), TEST_SIGNING_KEY),
        ({"event_name": "something_new", "chat_id": "c"}, TEST_SIGNING_KEY),
        ({"event_name": "tool_call"}, TEST_SIGNING_KEY),
        (tool_call_payload(), "forged-key"),
        (b"{not json", TEST_SIGNING_KEY),
        (b"x" * 5000, TEST_SIGNING_KEY),
    ]:
        body, headers = signed(payload, key)
        answers.append(client.post("/hume-webhook", content=body, headers=headers).status_code)
    assert answers == [202, 200, 202, 202, 422, 401, 400, 413]
    after = scrape(client)
    labels = ("event", "outcome", "reason")
    counted = add(after.by("evi_webhooks_total", *labels), negated(before.by("evi_webhooks_total", *labels)))
    assert counted == {
        ("tool_call", "queued", ""): 1,
        ("tool_call", "duplicate", ""): 1,
        ("chat_started", "queued", ""): 1,
        ("unknown", "ignored", ""): 1,
        ("tool_call", "rejected", "invalid_payload"): 1,
        ("unknown", "rejected", "invalid_signature"): 1,
        ("unknown", "rejected", "malformed_json"): 1,
        ("unknown", "rejected", "body_too_large"): 1,
    }
    intake = after.value("evi_webhook_intake_seconds_count") - before.value("evi_webhook_intake_seconds_count")
    assert intake == len(answers)


def negated(counts: dict[tuple[str, ...], float]) -> dict[tuple[str, ...], float]:
    return {key: -value for key, value in counts.items()}


def test_a_webhook_refused_for_redis_is_counted_unavailable(server: fakeredis.FakeServer) -> None:
    server.connected = False
    app = create_app(make_settings(), redis=fakeredis.FakeAsyncRedis(server=server))
    with TestClient(app) as client:
        before = scrape(client).value("evi_webhooks_total", reason="unavailable")
        body, headers = signed(tool_call_payload(), TEST_SIGNING_KEY)
        assert client.post("/hume-webhook", content=body, headers=headers).status_code == 503
        after = scrape(client)
    assert after.value("evi_webhooks_total", reason="unavailable") == before + 1
    assert "evi_queue_depth" not in after.names()  # without Redis the rest is still served


def test_every_refusal_of_the_intake_has_its_reason() -> None:
    assert outcome_of(202, "tool_call") == ("queued", "")
    assert outcome_of(202, "unknown") == ("ignored", "")
    assert outcome_of(200, "tool_call") == ("duplicate", "")
    assert {outcome_of(status, "unknown")[1] for status in REJECTIONS} == {
        "malformed_json",
        "invalid_signature",
        "body_too_large",
        "invalid_payload",
        "unavailable",
    }


def test_the_queues_depth_and_the_live_workers_are_read_when_scraped(
    client: TestClient, server: fakeredis.FakeServer
) -> None:
    redis = fakeredis.FakeRedis(server=server)
    redis.rpush(contract.rq_queue(contract.TOOLS_QUEUE), "a", "b", "c")
    redis.sadd(contract.RQ_WORKERS, "rq:worker:alive", "rq:worker:gone")
    redis.hset("rq:worker:alive", "state", "idle")  # a gone worker's key has expired; it is still in the set
    scraped = scrape(client)
    assert scraped.by("evi_queue_depth", "queue") == {("evi-tools",): 3, ("evi-events",): 0}
    assert scraped.value("evi_workers") == 1
