"""The ops JSON API on fakeredis: the same calls `evi-toolhost calls` lists, one call's detail, the overview and
the hour's figures; a query that does not fit is 422 naming it, Redis away is 503."""

from __future__ import annotations

import time
from collections.abc import Iterator

import fakeredis
import pytest
from starlette.testclient import TestClient

from service.app import create_app
from tests.conftest import make_settings
from tests.service.call_log.seeding import seed

TOKEN = "a-made-up-ops-token-of-some-length"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def client(fake_aredis: fakeredis.FakeAsyncRedis) -> Iterator[TestClient]:
    app = create_app(make_settings(ops_token=TOKEN), redis=fake_aredis)
    with TestClient(app, raise_server_exceptions=False, headers=BEARER) as test_client:
        yield test_client


def test_calls_are_listed_newest_first_and_filtered(client: TestClient, fake_redis: fakeredis.FakeRedis) -> None:
    now = int(time.time() * 1000)
    seed(fake_redis, "old", now - 7_200_000, status="failed", error_code="unknown_order")
    seed(fake_redis, "new", now - 1000, name="pay")
    listed = client.get("/ops/api/calls").json()
    assert [c["tool_call_id"] for c in listed["calls"]] == ["new", "old"] and listed["complete"]
    assert [c["tool_call_id"] for c in client.get("/ops/api/calls?since=1h").json()["calls"]] == ["new"]
    failed = client.get("/ops/api/calls", params={"status": "failed"}).json()["calls"]
    assert [(c["tool_call_id"], c["code"]) for c in failed] == [("old", "unknown_order")]
    assert client.get("/ops/api/calls/new").json()["tool"] == "pay"
    missing = client.get("/ops/api/calls/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


BAD_QUERIES = [("limit=0", "limit"), ("limit=501", "limit"), ("limit=x", "limit"), ("status=done", "status")]


@pytest.mark.parametrize(("query", "named"), [*BAD_QUERIES, ("since=soon", "since")])
def test_a_query_that_does_not_fit_is_422_naming_it(client: TestClient, query: str, named: str) -> None:
    response = client.get(f"/ops/api/calls?{query}")
    assert response.status_code == 422 and response.json()["detail"].startswith(named)


def test_redis_away_is_503(fake_server: fakeredis.FakeServer, client: TestClient) -> None:
    fake_server.connected = False
    for path in ("/ops/api/calls", "/ops/api/calls/x", "/ops/api/overview", "/ops/api/stats"):
        response = client.get(path)
        assert (response.status_code, response.json()["error"]) == (503, "redis_unavailable"), path


def test_the_hour_s_figures_are_shared_by_the_pages_for_a_few_seconds(
    client: TestClient, fake_redis: fakeredis.FakeRedis
) -> None:
    now = int(time.time() * 1000)
    seed(fake_redis, "a", now - 1000, latency=120)
    first = client.get("/ops/api/stats").json()
    assert first["tools"]["lookup_order"]["p95_ms"] == 120
    seed(fake_redis, "b", now - 500, latency=900)
    assert client.get("/ops/api/stats").json() == first
