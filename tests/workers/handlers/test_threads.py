"""The handler threads: reused when free, a new one only when every thread is busy, idle ones leave."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future

from workers.handlers.threads import DaemonThreadPool, wait_first


def test_a_finished_thread_runs_the_next_handler() -> None:
    pool = DaemonThreadPool()
    names = [pool.submit(lambda: threading.current_thread().ident).result(timeout=5) for _ in range(20)]
    assert len(set(names)) == 1
    assert pool.threads == 1


def test_a_stuck_handler_never_delays_another() -> None:
    pool = DaemonThreadPool()
    release = threading.Event()
    stuck = pool.submit(release.wait, 30)
    assert pool.submit(lambda: "quick").result(timeout=5) == "quick"
    assert pool.threads == 2
    release.set()
    assert stuck.result(timeout=5) is True


def test_threads_are_daemons_and_errors_reach_the_caller() -> None:
    pool = DaemonThreadPool()
    assert pool.submit(lambda: threading.current_thread().daemon).result(timeout=5) is True

    def fail() -> None:
        raise ValueError("from the handler")

    error = pool.submit(fail).exception(timeout=5)
    assert isinstance(error, ValueError) and str(error) == "from the handler"


def test_idle_threads_leave_and_new_work_still_runs() -> None:
    pool = DaemonThreadPool(idle_seconds=0.05)
    first = pool.submit(lambda: threading.current_thread())
    thread = first.result(timeout=5)
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert pool.threads == 0
    assert pool.submit(lambda: "again").result(timeout=5) == "again"


def test_wait_first_returns_when_any_future_is_done_and_at_its_timeout_otherwise() -> None:
    pool = DaemonThreadPool()
    release = threading.Event()
    slow = pool.submit(release.wait, 30)
    stop: Future[str] = Future()
    threading.Timer(0.05, stop.set_result, ("stopped",)).start()
    wait_first([slow, stop], timeout=10)
    assert stop.done() and not slow.done()

    began = time.monotonic()
    wait_first([slow, Future()], timeout=0.1)
    assert time.monotonic() - began >= 0.1 and not slow.done()

    wait_first([stop, slow], timeout=10)  # one done already: at once, and twice over causes no error
    release.set()
    wait_first([slow], timeout=10)
    assert slow.result() is True
