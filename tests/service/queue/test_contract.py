"""The rules both tiers apply alike: when a call's time starts to count, and the ids of its job."""

from __future__ import annotations

from redis import Redis
from rq.registry import FailedJobRegistry
from rq.worker import Worker

from service.queue import contract

NOW = 1_800_000_000_000


def test_a_call_counts_from_evis_timestamp_when_it_is_sane() -> None:
    assert contract.triggered_ms(NOW - 2_000, NOW) == NOW - 2_000  # time spent reaching us counts


def test_evis_clock_running_ahead_gives_no_extra_time() -> None:
    assert contract.triggered_ms(NOW + 5_000, NOW) == NOW


def test_a_timestamp_far_from_our_clock_counts_from_receipt() -> None:
    assert contract.triggered_ms(NOW - 600_000, NOW) == NOW  # ten minutes of skew
    assert contract.triggered_ms(NOW // 1000, NOW) == NOW  # seconds sent instead of milliseconds


def test_job_ids_are_safe_for_rq_and_stable() -> None:
    assert contract.job_id("tool_call", "toolu_01") == "tool_call-toolu_01"
    hashed = contract.job_id("tool_call", "a call id/with spaces")
    assert hashed.startswith("tool_call-") and len(hashed) == len("tool_call-") + 40
    assert hashed == contract.job_id("tool_call", "a call id/with spaces")


def test_rq_s_worker_and_failed_job_keys_are_rq_s_own() -> None:
    assert Worker.redis_worker_namespace_prefix == contract.RQ_WORKER_PREFIX
    assert Worker.redis_workers_keys == contract.RQ_WORKERS
    assert contract.rq_failed_registry("evi-tools") == FailedJobRegistry("evi-tools", connection=Redis()).key
