"""The worker class's own parts of RQ's control, on a real Redis: its pubsub thread (the channel `rq` commands reach
a worker by) stops at once, whatever it was reading when the worker stopped; `rq suspend` still stops it."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import pytest
from redis import Redis
from rq import Queue
from rq.exceptions import StopRequested
from rq.suspension import resume, suspend

from tests.support.servers import wait_for
from workers.worker import SUSPENSION_CHECK_EVERY_SECONDS, ToolhostWorker


def waiting_on_an_event(thread: threading.Thread) -> bool:
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None:
        if frame.f_code.co_name == "wait" and frame.f_code.co_filename.endswith("threading.py"):
            return True
        frame = frame.f_back
    return False


def unsubscribe_in_a_thread(worker: ToolhostWorker) -> tuple[threading.Thread, list[BaseException]]:
    raised: list[BaseException] = []

    def unsubscribe() -> None:
        try:
            worker.unsubscribe()
        except BaseException as exc:
            raised.append(exc)

    unsubscribing = threading.Thread(target=unsubscribe, daemon=True)
    unsubscribing.start()
    unsubscribing.join(timeout=3)
    return unsubscribing, raised


def test_unsubscribing_does_not_wait_for_the_pubsub_thread_s_sixty_second_read(real_redis: Redis) -> None:
    worker = ToolhostWorker([Queue("evi-test", connection=real_redis)], connection=real_redis, concurrency=1)
    worker.subscribe()  # type: ignore[no-untyped-call]
    thread = worker.pubsub_thread
    assert thread is not None
    stop = thread.stop

    def stop_once_the_reply_is_read(*args: Any, **kwargs: Any) -> None:
        # RQ's own unsubscribe at its worst: the thread has read the UNSUBSCRIBE reply before RQ stops it. Left
        # running, it then waits (60 s, RQ's read timeout) for a subscription that never comes.
        wait_for(lambda: not thread.is_alive() or waiting_on_an_event(thread), timeout=5)
        stop(*args, **kwargs)

    thread.stop = stop_once_the_reply_is_read
    unsubscribing, raised = unsubscribe_in_a_thread(worker)
    assert not unsubscribing.is_alive(), "unsubscribe() is waiting for the pubsub thread's 60 s read"
    assert raised == []
    assert not thread.is_alive()


def test_unsubscribing_after_the_pubsub_thread_ended_on_a_message_raises_nothing(real_redis: Redis) -> None:
    worker = ToolhostWorker([Queue("evi-test", connection=real_redis)], connection=real_redis, concurrency=1)
    worker.subscribe()  # type: ignore[no-untyped-call]
    thread, channel = worker.pubsub_thread, worker.pubsub_channel_name
    assert thread is not None
    wait_for(lambda: real_redis.pubsub_numsub(channel) == [(channel.encode(), 1)])
    # A message that arrives just as the worker stops ends the thread's loop first: it closes its connection.
    thread._running.clear()
    real_redis.publish(channel, json.dumps({"command": "none"}))
    wait_for(lambda: not thread.is_alive(), timeout=5)
    unsubscribing, raised = unsubscribe_in_a_thread(worker)
    assert not unsubscribing.is_alive()
    assert raised == []


def test_rq_suspend_still_stops_the_worker_and_is_asked_of_redis_once_a_second(real_redis: Redis) -> None:
    worker = ToolhostWorker([Queue("evi-test", connection=real_redis)], connection=real_redis, concurrency=1)
    worker.check_for_suspension(burst=True)  # not suspended: returns
    suspend(real_redis)
    try:
        worker.check_for_suspension(burst=True)  # asked within the second: not asked of Redis again
        worker._last_suspension_check -= SUSPENSION_CHECK_EVERY_SECONDS
        with pytest.raises(StopRequested):  # a burst worker stops; a running one waits until `rq resume`
            worker.check_for_suspension(burst=True)
    finally:
        resume(real_redis)
