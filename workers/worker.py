"""The RQ worker class: `rq.SimpleWorker` (no fork per job) that keeps the process's runtime.

RQ's default `Worker` forks a work horse for every job: a few milliseconds each, and the child's pooled
HTTP connections die with it, so every answer would open a new TLS connection to Hume. A `SimpleWorker`
runs jobs in its own process, where one event loop and one `httpx.AsyncClient` live for the worker's
whole life. Running several calls at once is RQ's `WorkerPool` (one process per worker, `workers.pool`).
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import sys
from typing import Any

from rq import SimpleWorker
from rq.serializers import JSONSerializer

from workers.runtime import close_runtime, get_runtime

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send `sig` to this process when its parent dies (a no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)


class ToolhostWorker(SimpleWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("serializer") is None:
            kwargs["serializer"] = JSONSerializer
        super().__init__(*args, **kwargs)

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        super().bootstrap(*args, **kwargs)
        get_runtime()  # in this process, after any fork: its own loop, HTTP client and Redis connection

    def teardown(self) -> None:
        try:
            super().teardown()  # type: ignore[no-untyped-call]
        finally:
            close_runtime()


class PooledWorker(ToolhostWorker):
    """A worker inside `ToolhostPool`: the pool runs the scheduler, and the worker ends with the pool
    (a warm shutdown if the pool process is killed)."""

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        die_with_parent()
        super().bootstrap(*args, **kwargs)

    def _start_scheduler(self, *args: Any, **kwargs: Any) -> None:
        return None
