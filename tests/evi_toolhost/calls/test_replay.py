"""Replaying a record through the test kit: the same answer, a changed one, and the records that cannot be
replayed, each saying why."""

from __future__ import annotations

import pytest

from evi_toolhost.calls.replay import CannotReplay, Redacted, recorded_answer, replay, side_by_side
from workers.call_log import CONTENT_LIMIT, content_digest
from workers.handlers.registry import Registry


def greeter(greeting: str) -> Registry:
    registry = Registry()

    @registry.tool
    def greet(name: str) -> str:
        return f"{greeting}, {name}!"

    return registry


def record(content: str = "Hello, Ada!", **fields: str) -> dict[str, str]:
    return {
        "name": "greet",
        "status": "answered",
        "arguments": '{"name": "Ada"}',
        "answer_type": "tool_response",
        "content": content,
        **fields,
    }


def test_the_same_code_gives_the_same_answer_and_changed_code_another() -> None:
    recorded, now = replay("toolu_1", record(), greeter("Hello"))
    assert recorded.same_as(now)
    recorded, now = replay("toolu_1", record(), greeter("Good morning"))
    assert not recorded.same_as(now) and now.content == "Good morning, Ada!"
    lines = side_by_side(recorded, now, width=80)
    assert lines[3].startswith("content  ≠") and "Hello, Ada!" in lines[3] and "Good morning, Ada!" in lines[3]
    assert lines[1].startswith("type      ")


def test_an_answer_longer_than_the_record_kept_is_compared_by_length_and_digest() -> None:
    name = "A" * CONTENT_LIMIT
    full = f"Hello, {name}!"
    kept = record(full[:CONTENT_LIMIT], content_chars=str(len(full)), content_sha256=content_digest(full))
    kept["arguments"] = f'{{"name": "{name}"}}'
    recorded, now = replay("toolu_1", kept, greeter("Hello"))
    assert recorded.same_as(now) and recorded.content == now.content
    assert not recorded_answer({**kept, "content_sha256": "0" * 64}).same_as(now)


def test_what_cannot_be_replayed_says_why() -> None:
    with pytest.raises(Redacted, match="its argument pin was redacted"):
        replay("toolu_1", record(redacted="pin"), greeter("Hello"))
    with pytest.raises(Redacted, match="its arguments card, pin were redacted"):
        replay("toolu_1", record(redacted="card,pin"), greeter("Hello"))
    cases = [
        ({"status": "not_required"}, "needed no answer"),
        ({"arguments": None}, "no worker started it"),
        ({"answer_type": ""}, "no recorded answer yet"),
    ]
    for change, why in cases:
        changed = {k: v for k, v in {**record(), **change}.items() if v is not None}
        with pytest.raises(CannotReplay, match=why):
            replay("toolu_1", changed, greeter("Hello"))


def test_a_tool_gone_from_the_code_answers_unknown_tool() -> None:
    recorded, now = replay("toolu_1", record(), Registry())
    assert (now.type, now.code) == ("tool_error", "unknown_tool") and not recorded.same_as(now)
