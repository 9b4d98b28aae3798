"""Which CPU the pool puts its next worker process on (`workers.cpu_pinning`)."""

from __future__ import annotations

import os
import threading

import pytest

from workers.cpu_pinning import next_cpu, pin_to, usable_cpus


def test_the_next_worker_goes_to_the_cpu_with_the_fewest() -> None:
    assert next_cpu([0, 1], []) == 0
    assert next_cpu([0, 1], [0]) == 1
    assert next_cpu([0, 1], [0, 1]) == 0
    assert next_cpu([0, 1, 2, 3], [0, 1, 3, 0, 1]) == 2


def test_a_respawned_worker_takes_the_cpu_its_dead_one_left() -> None:
    assert next_cpu([0, 1], [0, 1, 1]) == 0


def test_cpus_the_pool_may_not_use_are_never_chosen() -> None:
    assert next_cpu([2, 5], [0, 0, 7]) == 2
    assert next_cpu([2, 5], [2]) == 5


def test_one_cpu_is_nothing_to_choose() -> None:
    assert next_cpu([3], []) is None
    assert next_cpu([], []) is None


@pytest.mark.skipif(len(usable_cpus()) < 2, reason="pinning needs two CPUs to choose from")
def test_a_pinned_thread_and_the_threads_it_starts_run_on_that_cpu_only() -> None:
    cpus = usable_cpus()
    seen: dict[str, set[int]] = {}

    def pinned() -> None:
        pin_to(cpus[-1])
        seen["pinned"] = os.sched_getaffinity(0)
        child = threading.Thread(target=lambda: seen.setdefault("child", os.sched_getaffinity(0)))
        child.start()
        child.join()

    thread = threading.Thread(target=pinned)
    thread.start()
    thread.join()
    assert seen == {"pinned": {cpus[-1]}, "child": {cpus[-1]}}
    assert os.sched_getaffinity(0) == set(cpus)  # the thread that did not pin itself is as it was
