"""A finished call's metrics, from its record: labels bounded, each segment's time in seconds, counted once."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from workers import metrics
from workers.metrics import call_finished, outcome_labels, retry_reason, tool_label, watchdog_answered


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def record(**fields: str | int | None) -> dict[str, str | int | None]:
    times = {"queued_ms": 1_000, "started_ms": 1_004, "finished_ms": 1_054, "answered_ms": 1_060, "ran": 1}
    return {"name": "metrics_probe", "status": "answered", "transport": "http", **times, **fields}


def test_an_answered_call_is_counted_with_each_segment_s_time() -> None:
    labels = {"tool": "metrics_probe", "outcome": "answered", "code": "", "transport": "http"}
    before = {name: sample(f"{name}_sum", tool="metrics_probe") for name in ("evi_tool_call_seconds",
              "evi_tool_queue_wait_seconds", "evi_tool_handler_seconds", "evi_tool_delivery_seconds")}
    counted = sample("evi_tool_calls_total", **labels)
    call_finished(record())
    assert sample("evi_tool_calls_total", **labels) == counted + 1
    seconds = {name: sample(f"{name}_sum", tool="metrics_probe") - value for name, value in before.items()}
    assert seconds == pytest.approx({
        "evi_tool_call_seconds": 0.060,
        "evi_tool_queue_wait_seconds": 0.004,
        "evi_tool_handler_seconds": 0.050,
        "evi_tool_delivery_seconds": 0.006,
    })


def test_a_call_whose_handler_never_ran_or_that_was_not_delivered_has_no_such_time() -> None:
    handler = sample("evi_tool_handler_seconds_count", tool="metrics_probe_2")
    total = sample("evi_tool_call_seconds_count", tool="metrics_probe_2")
    call_finished(record(name="metrics_probe_2", status="failed", error_code="invalid_arguments", ran=0))
    call_finished(record(name="metrics_probe_2", status="undeliverable", answered_ms=None))
    assert sample("evi_tool_handler_seconds_count", tool="metrics_probe_2") == handler + 1
    assert sample("evi_tool_call_seconds_count", tool="metrics_probe_2") == total + 1
    failed = {"tool": "metrics_probe_2", "outcome": "tool_error", "code": "invalid_arguments", "transport": "http"}
    assert sample("evi_tool_calls_total", **failed) == 1


def test_outcome_labels_name_the_code_of_errors_only() -> None:
    assert outcome_labels("answered", None, "socket") == ("answered", "", "socket")
    assert outcome_labels("failed", "order_not_found", "http") == ("tool_error", "order_not_found", "http")
    assert outcome_labels("timeout", "timeout", "http") == ("timeout", "timeout", "http")
    assert outcome_labels("undeliverable", "tool_failed", None) == ("undeliverable", "", "none")


def test_tool_labels_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_tools", set())
    monkeypatch.setattr(metrics, "MAX_TOOL_LABELS", 2)
    assert tool_label("made_up", "unknown_tool") == "unknown"
    assert [tool_label(name) for name in ("a", "b", "c", "a")] == ["a", "b", "other", "a"]


def test_a_watchdog_answer_is_counted_with_why_and_its_time_since_evi_s_call() -> None:
    counted = sample("evi_watchdog_answers_total", reason="never_started")
    total = sample("evi_tool_call_seconds_sum", tool="metrics_probe_3")
    intake_record = {"name": "metrics_probe_3", "received_ms": 10_000}
    fields = {"status": "timeout", "error_code": "timeout", "transport": "http", "answered_ms": 12_500,
              "note": "never_started"}
    watchdog_answered(intake_record, fields)
    assert sample("evi_watchdog_answers_total", reason="never_started") == counted + 1
    assert sample("evi_tool_call_seconds_sum", tool="metrics_probe_3") - total == pytest.approx(2.5)
    labels = {"tool": "metrics_probe_3", "outcome": "timeout", "code": "timeout", "transport": "http"}
    assert sample("evi_tool_calls_total", **labels) == 1


@pytest.mark.parametrize(("status", "reason"), [(None, "network"), (503, "5xx"), (500, "5xx"), (429, "429"),
                                                (408, "408"), (425, "425")])
def test_retries_are_counted_by_status_class(status: int | None, reason: str) -> None:
    assert retry_reason(status) == reason
