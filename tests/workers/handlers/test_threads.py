"""The handler threads: reused when free, a new one only when every thread is busy, idle ones leave."""

from __future__ import annotations

import threading

from workers.handlers.threads import DaemonThreadPool


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
