from bench.soak import explain


def test_an_unexpected_answer_is_explained_by_its_record_in_ms_after_the_trigger() -> None:
    record = {
        "received_ms": "1000",
        "queued_ms": "1002",
        "started_ms": "5300",
        "deadline_ms": "6000",
        "answered_ms": "6200",
        "status": "timeout",
        "answered_by": "watchdog",
        "note": "started",
        "worker": "toolhost.3",
        "arguments": "{}",
    }

    line = explain("soak_slow", "tool_error:timeout", record)

    assert line == (
        "soak_slow answered tool_error:timeout: status timeout, answered_by watchdog, note started, worker toolhost.3; "
        "queued +2, started +4300, deadline +5000, answered +5200"
    )


def test_a_call_without_a_record_says_so() -> None:
    assert explain("noop", "tool_error:timeout", {}) == "noop answered tool_error:timeout: no record; no times"
