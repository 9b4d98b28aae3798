"""What a worker process keeps from job to job: one asyncio event loop, one HTTP client (so pooled
connections to Hume survive across jobs), Redis (a client per kind: blocking for job threads, asyncio for the
loop), the delivery and the deadline watchdog built on them, settings and the registry.

The runtime's loop runs in its own daemon thread for the runtime's whole life and holds what calls share:
delivery, the asyncio Redis client, the HTTP pool, the watchdog. Handlers do not run on it: each job thread
(`WORKER_CONCURRENCY` of them) runs its handlers on a loop of its own (`Runtime.job_loop`), so a handler that
blocks its loop (`time.sleep` in an `async def`) delays its own call only. A handler's `ctx.send` reaches the
runtime's loop through `Runtime.call`.

The runtime is created lazily in the process that runs jobs: after RQ's `WorkerPool` forks, each child
builds its own (a loop or a socket must never cross a fork). Tests install their own with `use_runtime`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import httpx
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from service.evi.control_plane import ControlPlane, HttpControlPlane, make_http_client, shared_ssl_context
from service.redis_client import connect, connect_async
from service.settings import Settings, load_settings
from workers.cancellation import RunningCalls
from workers.delivery import Delivery, RelaySocket
from workers.handlers.registry import Registry, default_registry
from workers.handlers.threads import HANDLER_THREADS
from workers.metrics import delivery_retried
from workers.watchdog import Watchdog

log = logging.getLogger("evi_toolhost.runtime")

T = TypeVar("T")

CLOSE_TIMEOUT_SECONDS = 5.0
LISTEN_TIMEOUT_SECONDS = 5.0


class Runtime:
    def __init__(
        self,
        settings: Settings,
        redis: Redis,
        *,
        registry: Registry | None = None,
        control_plane: ControlPlane | None = None,
        http: httpx.AsyncClient | None = None,
        aredis: AsyncRedis | None = None,
    ) -> None:
        """`control_plane` is how a message leaves when no socket is open (default: HTTP send to Hume);
        `aredis` is used on this runtime's loop only (default: a client for `settings.redis_url`)."""
        self.settings = settings
        self.redis = redis
        self.registry = registry if registry is not None else default_registry
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, name="evi-runtime-loop", daemon=True)
        self._loop_thread.start()
        self.executor = HANDLER_THREADS
        self.http = http if http is not None else make_http_client()
        self.aredis = aredis if aredis is not None else connect_async(settings.redis_url)
        self.control_plane: ControlPlane = control_plane or HttpControlPlane(
            settings.hume_api_base_url, settings.hume_api_key.get_secret_value(), self.http, on_retry=delivery_retried
        )
        relay = None
        if settings.relay_enabled:
            relay = RelaySocket(
                self.aredis,
                confirm_timeout_ms=settings.relay_confirm_timeout_ms,
                claim_ttl_seconds=settings.claim_ttl_seconds,
            )
        self.delivery = Delivery(
            self.control_plane, self.aredis, claim_ttl_seconds=settings.claim_ttl_seconds, relay=relay
        )
        self.running_calls = RunningCalls()
        """The calls this runtime runs, so chat signals can stop them (`workers.cancellation`)."""
        self.pid = os.getpid()
        self._job_loops = threading.local()
        self._watchdog_stop: asyncio.Event | None = None
        self._watchdog_task: concurrent.futures.Future[None] | None = None
        self._listening: list[concurrent.futures.Future[None]] = []
        self._listen_stop: asyncio.Event | None = None
        self.on_close: list[Callable[[], Awaitable[None]]] = []
        """Awaited on the loop by `close()`, before the clients close (the MCP sessions)."""

    def start_watchdog(self) -> None:
        """Run the deadline watchdog (`workers.watchdog`) on this runtime's loop until `close()`."""
        if self._watchdog_task is not None:
            return

        def fallback(name: str) -> str | None:
            tool = self.registry.get(name)
            return tool.fallback if tool is not None else None

        watchdog = Watchdog(
            self.aredis,
            self.delivery,
            fallback=fallback,
            record_ttl_seconds=self.settings.record_ttl_seconds,
            delivery_grace_seconds=self.settings.delivery_grace_seconds,
        )

        async def run() -> None:
            self._watchdog_stop = asyncio.Event()
            await watchdog.run(self._watchdog_stop)

        self._watchdog_task = asyncio.run_coroutine_threadsafe(run(), self.loop)

    def start_listening(self) -> None:
        """Listen for chat signals (a chat ended, the caller interrupted: `workers.chat_signals`) and sweep lost
        background runs (`workers.background.lost`), on this runtime's loop until `close()`. Returns once the
        signals are subscribed to."""
        if self._listening:
            return
        from workers import chat_signals
        from workers.background import LostRuns

        def fallback(name: str) -> str | None:
            tool = self.registry.get(name)
            return tool.fallback if tool is not None else None

        lost = LostRuns(
            self.aredis,
            self.delivery,
            fallback=fallback,
            record_ttl_seconds=self.settings.record_ttl_seconds,
            claim_ttl_seconds=self.settings.claim_ttl_seconds,
        )
        subscribed = threading.Event()

        async def listen() -> None:
            await chat_signals.listen(
                self.aredis, self.running_calls, self._stop_listening(), on_subscribed=subscribed.set
            )

        async def sweep() -> None:
            await lost.run(self._stop_listening())

        self._listening = [asyncio.run_coroutine_threadsafe(job(), self.loop) for job in (listen, sweep)]
        if not subscribed.wait(LISTEN_TIMEOUT_SECONDS):
            log.warning("runtime: chat signals not subscribed to yet (Redis away?); still trying")

    def _stop_listening(self) -> asyncio.Event:
        if self._listen_stop is None:
            self._listen_stop = asyncio.Event()
        return self._listen_stop

    def job_loop(self) -> asyncio.AbstractEventLoop:
        """This thread's own event loop for handlers and hooks, made on first use and kept for the thread's life."""
        loop: asyncio.AbstractEventLoop | None = getattr(self._job_loops, "loop", None)
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
            self._job_loops.loop = loop
        return loop

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Await `coro` on the runtime's loop from any loop (a handler's, or the runtime's own)."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on this process's loop (the same loop for every job and job thread) and wait for it.

        If the wait is interrupted (an exception raised in the waiting thread), the coroutine is cancelled.
        """
        if threading.get_ident() == self._loop_thread.ident:
            coro.close()
            raise RuntimeError("Runtime.run() called on the runtime's own loop would deadlock: await instead")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()
            raise

    def close(self) -> None:
        """Close the HTTP and asyncio Redis clients on the loop, then stop the loop's thread and close it."""
        if self.loop.is_closed():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._aclose(), self.loop).result(timeout=CLOSE_TIMEOUT_SECONDS)
        except Exception:
            log.warning("runtime: the clients did not close cleanly", exc_info=True)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._loop_thread.join(timeout=CLOSE_TIMEOUT_SECONDS)
            if self._loop_thread.is_alive():
                log.warning("runtime: the event loop is blocked (by an async handler that never yields?)")
            else:
                self.loop.close()

    async def _aclose(self) -> None:
        if self._watchdog_stop is not None:
            self._watchdog_stop.set()
        if self._listen_stop is not None:
            self._listen_stop.set()
        if self._watchdog_task is not None:
            await asyncio.wrap_future(self._watchdog_task)
        for listening in self._listening:
            await asyncio.wrap_future(listening)
        for close in self.on_close:
            await close()
        await self.http.aclose()
        await self.aredis.aclose()


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def warm_up() -> None:
    """In a process about to fork workers: import and load what each of them would otherwise repeat."""
    import httpcore  # noqa: F401  (httpx imports it lazily, on the first client)

    shared_ssl_context()


def get_runtime() -> Runtime:
    """This process's runtime, created from the environment on first use (after a fork, a new one)."""
    global _runtime
    runtime = _runtime
    if runtime is not None and runtime.pid == os.getpid():
        return runtime
    with _runtime_lock:  # two job threads may get here first at the same time: one runtime for both
        if _runtime is None or _runtime.pid != os.getpid():
            from workers.handlers.discovery import discover

            settings = load_settings()
            discover(settings.tool_modules)
            _runtime = Runtime(settings, connect(settings.redis_url))
            if settings.mcp_servers:
                from workers.mcp_tools.process import start_sessions

                start_sessions(_runtime)
            log.debug("runtime ready in process %d", _runtime.pid)
        return _runtime


def close_runtime() -> None:
    global _runtime
    with _runtime_lock:
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
