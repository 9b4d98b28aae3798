"""A worker's job slots: at most `size` jobs run at once, each in a thread of one `ThreadPoolExecutor`.

The worker takes a slot before it dequeues (so a job waits in its RQ queue, where another worker may take
it, never inside a busy worker), starts the job in a thread, and the thread gives the slot back when done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

log = logging.getLogger("evi_toolhost.worker")


class JobSlots:
    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a worker needs at least one job slot")
        self.size = size
        self._free = threading.BoundedSemaphore(size)
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="evi-job")
        self._running: set[Future[None]] = set()
        self._lock = threading.Lock()

    def take(self, timeout: float) -> bool:
        """Take a free slot, waiting up to `timeout` seconds for one; False if none came free."""
        return self._free.acquire(timeout=timeout)

    def give_back(self) -> None:
        """Return a slot taken with `take` that no job was started in."""
        self._free.release()

    def start(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` in a job thread, in the slot taken before; the slot is freed when it returns."""
        future = self._threads.submit(self._run, fn, *args)
        with self._lock:
            self._running.add(future)
        future.add_done_callback(self._finished)

    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every started job to return; True once none is running."""
        with self._lock:
            running = set(self._running)
        return not wait(running, timeout=timeout).not_done

    def close(self) -> None:
        self._threads.shutdown(wait=False)

    def _run(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except BaseException:
            log.exception("a job thread failed outside of its job")
        finally:
            self._free.release()

    def _finished(self, future: Future[None]) -> None:
        with self._lock:
            self._running.discard(future)
