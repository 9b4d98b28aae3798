"""The call log as text: the table, JSON lines, and one call with its timing bars."""

from __future__ import annotations

import json

from evi_toolhost.calls.render import call_lines, json_lines, table
from tests.service.call_log.test_view import ANSWERED


def test_the_table_has_a_header_and_a_row_a_call() -> None:
    header, row = table([("toolu_1", ANSWERED)])
    assert header.split() == ["RECEIVED", "TOOL", "STATUS", "CODE", "LATENCY", "TRANSPORT", "CHAT", "ID"]
    assert row.split()[2:] == ["lookup_order", "answered", "-", "340", "ms", "http", "chat-1", "toolu_1"]
    assert table([])[0].split() == header.split()


def test_json_lines_are_summaries_or_whole_records() -> None:
    (line,) = json_lines([("toolu_1", ANSWERED)])
    assert json.loads(line)["latency_ms"] == 340
    (whole,) = json_lines([("toolu_1", ANSWERED)], whole=True)
    assert json.loads(whole)["record"]["worker"] == "w1"


def test_one_call_with_its_facts_timing_and_record() -> None:
    lines = call_lines("toolu_1", {**ANSWERED, "dedupe_hits": "2", "redacted": "card_number"})
    assert lines[0] == "tool call toolu_1: lookup_order, answered (tool_response) in 340 ms by http"
    assert "  delivery     2 attempt(s)" in lines and "  dedupe hits  2" in lines
    assert "  redacted     card_number" in lines and '  answer       {"status":"shipped"}' in lines
    timing = lines[lines.index("timing") + 1 : lines.index("record")]
    assert [line.split()[-3:] for line in timing][3] == ["300", "ms", "█" * 26]
    assert timing[-1].startswith("  total") and timing[-1].endswith("█" * 30)
    assert "  worker: w1" in lines
    assert "  arguments    (not recorded)" in call_lines("toolu_2", {"status": "queued"})
