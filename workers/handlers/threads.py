"""Where sync handlers and hooks run: daemon threads that are kept and reused.

A thread cannot be stopped, so a handler that never returns keeps its thread forever; as daemons, such
threads cannot hold up the worker's exit (a `ThreadPoolExecutor` joins its threads at exit). A thread that
finished a handler waits up to `IDLE_SECONDS` for the next one, so a busy worker starts no thread per call
(starting one costs a GIL hand-off and tens of microseconds; reusing one costs a queue put). There is no
upper bound: a call never waits for a thread, whatever other handlers are stuck.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

IDLE_SECONDS = 60.0

_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...], dict[str, Any]]


class DaemonThreadPool(Executor):
    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._work: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        """One token per thread waiting for work; a submit that takes one needs no new thread."""
        self._count = 0
        self._count_lock = threading.Lock()

    @property
    def threads(self) -> int:
        """How many threads the pool has now (busy or idle)."""
        return self._count

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        self._work.put((future, fn, args, kwargs))
        if not self._idle.acquire(blocking=False):
            with self._count_lock:
                self._count += 1
            threading.Thread(target=self._serve, name="evi-handler", daemon=True).start()
        return future

    def _serve(self) -> None:
        while True:
            try:
                future, fn, args, kwargs = self._work.get(timeout=self.idle_seconds)
            except queue.Empty:
                if self._idle.acquire(blocking=False):  # no submit is counting on this thread: it may go
                    with self._count_lock:
                        self._count -= 1
                    return
                continue
            if future.set_running_or_notify_cancel():
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    future.set_exception(exc)
                else:
                    future.set_result(result)
            del future, fn, args, kwargs
            self._idle.release()


def wait_first(futures: Sequence[Future[Any]], timeout: float) -> None:
    """Return once any of `futures` is done, or after `timeout` seconds.

    `concurrent.futures.wait` does the same with a condition per future and a waiter object installed under each
    future's lock and removed after: a few times the cost of the handler it waits for, when that handler is quick.
    Here one lock, opened by whichever future finishes first; a callback left on a future after the wait only
    releases a lock no one waits on."""
    gate = threading.Lock()
    gate.acquire()

    def open_gate(_: Future[Any]) -> None:
        with contextlib.suppress(RuntimeError):  # opened already
            gate.release()

    for future in futures:
        future.add_done_callback(open_gate)
    gate.acquire(timeout=timeout)


HANDLER_THREADS = DaemonThreadPool()
"""The pool every sync handler and hook of this process runs on."""
