"""POST /hume-webhook on fakeredis: each check in its order, and what it leaves in Redis."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import fakeredis
import pytest
from rq import Queue
from rq.serializers import JSONSerializer
from starlette.testclient import TestClient

from service.app import create_app
from service.evi import signing
from service.queue.contract import EVENTS_QUEUE, TOOLS_QUEUE
from tests.conftest import TEST_API_KEY, TEST_SIGNING_KEY, make_settings
from tests.support.webhooks import chat_ended_payload, chat_started_payload, signed, tool_call_payload


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def redis(server: fakeredis.FakeServer) -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=server)


@pytest.fixture
def aredis(server: fakeredis.FakeServer) -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis(server=server)


@pytest.fixture
def client(aredis: fakeredis.FakeAsyncRedis) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(), redis=aredis), raise_server_exceptions=False) as test_client:
        yield test_client


def post(client: TestClient, payload: dict[str, Any] | bytes, key: str = TEST_SIGNING_KEY, **kw: Any) -> Any:
    body, headers = signed(payload, key, **kw)
    return client.post("/hume-webhook", content=body, headers=headers)


def jobs(redis: fakeredis.FakeRedis, queue: str) -> list[Any]:
    q = Queue(queue, connection=redis, serializer=JSONSerializer)
    return [q.fetch_job(job_id) for job_id in q.job_ids]


def test_signed_tool_call_is_queued_with_the_full_event(client: TestClient, redis: fakeredis.FakeRedis) -> None:
    payload = tool_call_payload(tool_call_id="toolu_1")
    payload["tool_call_message"]["an_unknown_field"] = {"kept": True}
    response = post(client, payload)
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "job_id": "tool_call-toolu_1"}
    [job] = jobs(redis, TOOLS_QUEUE)
    assert job.id == "tool_call-toolu_1"
    assert job.func_name == "workers.jobs.run_tool_call"
    assert job.args[0] == payload
    assert jobs(redis, EVENTS_QUEUE) == []


def test_same_delivery_twice_is_a_duplicate(client: TestClient, redis: fakeredis.FakeRedis) -> None:
    payload = tool_call_payload(tool_call_id="toolu_dup")
    assert post(client, payload).status_code == 202
    second = post(client, payload)
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert len(jobs(redis, TOOLS_QUEUE)) == 1


def test_lifecycle_events_go_to_the_events_queue(client: TestClient, redis: fakeredis.FakeRedis) -> None:
    assert post(client, chat_started_payload("chat-9")).json()["job_id"] == "chat_started-chat-9"
    assert post(client, chat_ended_payload("chat-9")).json()["job_id"] == "chat_ended-chat-9"
    assert post(client, chat_ended_payload("chat-9")).json()["status"] == "duplicate"
    assert [j.func_name for j in jobs(redis, EVENTS_QUEUE)] == [
        "workers.jobs.run_chat_started",
        "workers.jobs.run_chat_ended",
    ]
    assert jobs(redis, TOOLS_QUEUE) == []


def test_api_key_signature_is_accepted_unless_turned_off(aredis: fakeredis.FakeAsyncRedis) -> None:
    payload = tool_call_payload()
    with TestClient(create_app(make_settings(), redis=aredis)) as client:
        assert post(client, payload, key=TEST_API_KEY).status_code == 202
    strict = make_settings(hume_webhook_accept_api_key=False)
    with TestClient(create_app(strict, redis=aredis)) as client:
        assert post(client, tool_call_payload(), key=TEST_API_KEY).status_code == 401


def test_every_rotated_signing_key_is_accepted(aredis: fakeredis.FakeAsyncRedis) -> None:
    settings = make_settings(hume_webhook_signing_key="old-made-up-key, new-made-up-key")
    with TestClient(create_app(settings, redis=aredis)) as client:
        assert post(client, tool_call_payload(), key="old-made-up-key").status_code == 202
        assert post(client, tool_call_payload(), key="new-made-up-key").status_code == 202


def _tampered(client: TestClient) -> Any:
    body, headers = signed(tool_call_payload(), TEST_SIGNING_KEY)
    return client.post("/hume-webhook", content=body.replace(b"Paris", b"Pares"), headers=headers)


def _missing(header: str) -> Any:
    def send(client: TestClient) -> Any:
        body, headers = signed(tool_call_payload(), TEST_SIGNING_KEY)
        del headers[header]
        return client.post("/hume-webhook", content=body, headers=headers)

    return send


FROZEN_NOW = 1_764_000_000


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The verifier's clock stands still, so "181 s old" cannot become 180 s while a test runs."""
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: float(FROZEN_NOW)))


def _at(offset: int) -> Any:
    def send(client: TestClient) -> Any:
        return post(client, tool_call_payload(), timestamp=FROZEN_NOW + offset)

    return send


@pytest.mark.parametrize(
    ("send", "reason"),
    [
        (_tampered, "does not match"),
        (lambda c: post(c, tool_call_payload(), key="a-wrong-made-up-key"), "does not match"),
        (_at(-181), "too old"),
        (_at(+181), "in the future"),
        (_missing("X-Hume-AI-Webhook-Signature"), "missing X-Hume-AI-Webhook-Signature"),
        (_missing("X-Hume-AI-Webhook-Timestamp"), "missing X-Hume-AI-Webhook-Timestamp"),
    ],
    ids=["tampered", "wrong-key", "181s-old", "181s-future", "no-signature", "no-timestamp"],
)
def test_unverified_webhooks_get_401_and_leave_nothing(
    client: TestClient, redis: fakeredis.FakeRedis, send: Any, reason: str
) -> None:
    response = send(client)
    assert response.status_code == 401
    assert reason in response.json()["detail"]
    assert TEST_SIGNING_KEY not in response.text
    assert TEST_API_KEY not in response.text
    assert redis.keys("*") == []


def test_timestamps_inside_the_window_are_accepted(client: TestClient) -> None:
    assert _at(-179)(client).status_code == 202
    assert _at(+179)(client).status_code == 202


def test_malformed_json_is_400(client: TestClient, redis: fakeredis.FakeRedis) -> None:
    response = post(client, b'{"event_name": "tool_call",')
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_json"
    assert redis.keys("*") == []


def test_a_missing_required_field_is_422_naming_it(client: TestClient, redis: fakeredis.FakeRedis) -> None:
    payload = tool_call_payload()
    del payload["tool_call_message"]["tool_call_id"]
    response = post(client, payload)
    assert response.status_code == 422
    assert "tool_call_message.tool_call_id" in [f["field"] for f in response.json()["fields"]]
    assert "tool_call_message.tool_call_id" in response.json()["detail"]
    assert redis.keys("*") == []


@pytest.mark.parametrize(("body", "named"), [(b"[1, 2]", "JSON object"), (b"{}", "event_name")])
def test_json_that_is_not_an_event_is_422(client: TestClient, body: bytes, named: str) -> None:
    response = post(client, body)
    assert response.status_code == 422
    assert named in response.json()["detail"]


def test_a_wrong_enum_value_is_422(client: TestClient) -> None:
    payload = chat_ended_payload()
    payload["end_reason"] = "GOT_BORED"
    response = post(client, payload)
    assert response.status_code == 422
    assert "end_reason" in response.json()["detail"]


def test_a_1_mib_body_is_413_before_any_other_check(client: TestClient, redis: fakeredis.FakeRedis) -> None:
    response = client.post("/hume-webhook", content=b"x" * (1024 * 1024))
    assert response.status_code == 413
    assert redis.keys("*") == []


def test_an_oversized_body_without_content_length_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(300):
            yield b"x" * 1024

    response = client.post("/hume-webhook", content=chunks())
    assert response.status_code == 413


def test_unknown_event_name_is_acknowledged_and_ignored(client: TestClient, redis: fakeredis.FakeRedis) -> None:
    payload = {"event_name": "chat_paused", "chat_id": "c", "something_new": 1}
    response = post(client, payload)
    assert response.status_code == 202
    assert response.json() == {"status": "ignored"}
    assert redis.keys("*") == []


def test_redis_unreachable_is_503_with_retry_after_and_no_claim(
    client: TestClient, server: fakeredis.FakeServer, redis: fakeredis.FakeRedis
) -> None:
    payload = tool_call_payload(tool_call_id="toolu_down")
    server.connected = False
    response = post(client, payload)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    server.connected = True
    assert redis.keys("*") == []
    again = post(client, payload)
    assert again.status_code == 202
    assert again.json()["status"] == "queued"


def test_readyz_follows_redis(client: TestClient, server: fakeredis.FakeServer) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    server.connected = False
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_wrong_method_and_unknown_path_get_json_errors(client: TestClient) -> None:
    assert client.get("/hume-webhook").status_code == 405
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert json.loads(response.text)["error"] == "http_error"
