"""Fixtures for the worker tier: a runtime on fakeredis with a recording control plane."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import httpx
import pytest
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from service.evi.control_plane import RecordingControlPlane
from tests.conftest import make_settings
from workers.handlers.registry import Registry
from workers.runtime import Runtime, use_runtime


def no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected HTTP request in a unit test: {request.method} {request.url}")


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def control_plane() -> RecordingControlPlane:
    return RecordingControlPlane()


@pytest.fixture
def make_runtime(
    fake_redis: Redis, fake_aredis: AsyncRedis, registry: Registry, control_plane: RecordingControlPlane
) -> Iterator[Callable[..., Runtime]]:
    """Build and install a runtime; `http_handler` answers its HTTP client (chat history), and keyword
    arguments override settings."""
    with ExitStack() as stack:

        def make(http_handler: Callable[[httpx.Request], httpx.Response] = no_network, **settings: object) -> Runtime:
            runtime = Runtime(
                make_settings(**settings),
                fake_redis,
                registry=registry,
                control_plane=control_plane,
                http=httpx.AsyncClient(transport=httpx.MockTransport(http_handler)),
                aredis=fake_aredis,
            )
            stack.callback(runtime.close)
            stack.enter_context(use_runtime(runtime))
            return runtime

        yield make


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime()
