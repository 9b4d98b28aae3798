"""Fixtures shared by unit tests (fakeredis) and integration tests (a real Redis this session starts)."""

from __future__ import annotations

from collections.abc import Iterator

import fakeredis
import pytest
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from evi_toolhost.embedded_redis import EmbeddedRedis
from service.settings import Settings

TEST_API_KEY = "test-api-key-not-a-real-one"
TEST_SIGNING_KEY = "test-signing-key-not-a-real-one"


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "hume_api_key": TEST_API_KEY,
        "hume_webhook_signing_key": TEST_SIGNING_KEY,
        "redis_url": "redis://127.0.0.1:1/0",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def fake_server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def fake_redis(fake_server: fakeredis.FakeServer) -> Redis:
    return fakeredis.FakeRedis(server=fake_server)


@pytest.fixture
def fake_aredis(fake_server: fakeredis.FakeServer) -> AsyncRedis:
    """The same fake Redis as `fake_redis`, through an asyncio client."""
    return fakeredis.FakeAsyncRedis(server=fake_server)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[EmbeddedRedis]:
    """A real redis-server on a free port, private to this test session (never the one on 6379)."""
    with EmbeddedRedis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis) -> Iterator[str]:
    client = Redis.from_url(redis_server.url)
    client.flushall()
    yield redis_server.url
    client.flushall()
    client.close()


@pytest.fixture
def real_redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def mcp_weather_url() -> Iterator[str]:
    """The URL of the weather MCP server (`tests/support/mcp_servers/weather.py`) on streamable HTTP, one process
    for the session: listing it is quick where starting a stdio server per test is not. Do not change its tools."""
    from tests.support.mcp_servers import HttpServer

    with HttpServer() as server:
        yield server.url
