"""What a worker process keeps from job to job: one asyncio event loop, one HTTP client (so pooled
connections to Hume survive across jobs), Redis, settings and the registry.

The runtime is created lazily in the process that runs jobs: after RQ's `WorkerPool` forks, each child
builds its own (a loop or a socket must never cross a fork). Tests install their own with `use_runtime`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from service.evi.control_plane import ControlPlane, HttpControlPlane, make_http_client, shared_ssl_context
from service.redis_client import connect
from service.settings import Settings, load_settings
from workers.execution import DaemonThreadExecutor
from workers.registry import Registry, default_registry

log = logging.getLogger("evi_toolhost.runtime")

T = TypeVar("T")


class Runtime:
    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        *,
        registry: Registry | None = None,
        control_plane: ControlPlane | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.registry = registry if registry is not None else default_registry
        self.loop = asyncio.new_event_loop()
        self.executor = DaemonThreadExecutor()
        self.http = http if http is not None else make_http_client()
        self.control_plane: ControlPlane = control_plane or HttpControlPlane(
            settings.hume_api_base_url, settings.hume_api_key.get_secret_value(), self.http
        )
        self.pid = os.getpid()
        self._aredis: AsyncRedis | None = None

    @property
    def aredis(self) -> AsyncRedis:
        """An asyncio Redis client on this runtime's loop, for waits that must not block it (made on first use)."""
        if self._aredis is None:
            self._aredis = AsyncRedis.from_url(self.settings.redis_url, socket_connect_timeout=1.0)
        return self._aredis

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` to completion on this process's loop (the same loop for every job)."""
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        if self.loop.is_closed():
            return
        try:
            self.run(self.http.aclose())
            if self._aredis is not None:
                self.run(self._aredis.aclose())
        finally:
            self.loop.close()


_runtime: Runtime | None = None


def warm_up() -> None:
    """In a process about to fork workers: import and load what each of them would otherwise repeat."""
    import httpcore  # noqa: F401  (httpx imports it lazily, on the first client)

    shared_ssl_context()


def get_runtime() -> Runtime:
    """This process's runtime, created from the environment on first use (after a fork, a new one)."""
    global _runtime
    if _runtime is None or _runtime.pid != os.getpid():
        from workers.discovery import discover

        settings = load_settings()
        discover(settings.tool_modules)
        _runtime = Runtime(settings, connect(settings.redis_url))
        log.debug("runtime ready in process %d", _runtime.pid)
    return _runtime


def close_runtime() -> None:
    global _runtime
    if _runtime is not None and _runtime.pid == os.getpid():
        _runtime.close()
        _runtime.redis.close()
    _runtime = None


@contextmanager
def use_runtime(runtime: Runtime) -> Iterator[Runtime]:
    """Install `runtime` for this process while the block runs (tests)."""
    global _runtime
    previous, _runtime = _runtime, runtime
    try:
        yield runtime
    finally:
        _runtime = previous
