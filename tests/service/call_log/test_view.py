"""A record as people read it: its state, latency, segments, and the summary and detail shapes."""

from __future__ import annotations

from service.call_log.view import Segment, detail, iso, latency_ms, state, summary, timings

ANSWERED = {
    "name": "lookup_order",
    "status": "answered",
    "chat_id": "chat-1",
    "received_ms": "1000",
    "queued_ms": "1012",
    "job_started_ms": "1020",
    "started_ms": "1021",
    "finished_ms": "1321",
    "answered_ms": "1340",
    "answer_type": "tool_response",
    "content": '{"status":"shipped"}',
    "arguments": '{"order_id": "A-1"}',
    "transport": "http",
    "worker": "w1",
    "delivery_attempts": "2",
}


def test_state_tells_a_running_call_from_a_queued_one() -> None:
    assert state({"status": "queued"}) == "queued"
    assert state({"status": "queued", "started_ms": "5"}) == "running"
    assert state({"status": "timeout", "started_ms": "5"}) == "timeout"
    assert state({}) == "queued"


def test_each_segment_of_the_path_and_the_total() -> None:
    assert timings(ANSWERED) == [
        Segment("to the intake", 12),
        Segment("queued", 8),
        Segment("pickup", 1),
        Segment("handler", 300),
        Segment("delivery", 19),
        Segment("total", 340),
    ]
    older = {k: v for k, v in ANSWERED.items() if k != "job_started_ms"}
    assert [s.name for s in timings(older)][:2] == ["to the intake", "queued"]
    assert timings(older)[1] == Segment("queued", 9)
    assert timings({"received_ms": "1000", "status": "queued"}) == []
    assert latency_ms(ANSWERED) == 340 and latency_ms({"received_ms": "x", "answered_ms": "5"}) is None


def test_summary_and_detail() -> None:
    line = summary("toolu_1", ANSWERED)
    assert line == {
        "tool_call_id": "toolu_1",
        "tool": "lookup_order",
        "status": "answered",
        "code": None,
        "chat_id": "chat-1",
        "received_at": "1970-01-01T00:00:01.000Z",
        "received_ms": 1000,
        "latency_ms": 340,
        "transport": "http",
        "worker": "w1",
        "delivery_attempts": 2,
        "dedupe_hits": 0,
        "answered_by": "worker",
    }
    whole = detail("toolu_1", {**ANSWERED, "redacted": "card_number"})
    assert whole["arguments"] == {"order_id": "A-1"} and whole["redacted"] == ["card_number"]
    assert whole["answer"] == {"type": "tool_response", "code": None, "content": '{"status":"shipped"}', "error": None}
    assert whole["timings_ms"]["handler"] == 300 and whole["record"]["worker"] == "w1"
    assert detail("toolu_2", {"status": "queued"})["arguments"] is None
    assert iso(None) is None
