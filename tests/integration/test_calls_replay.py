"""`evi-toolhost calls replay ID` on a real stack: a tool module written in the test's folder answers a call; the
replay of that call through the current code gives the same answer (exit 0) until the file changes what the tool
says (exit 1); a call whose argument was redacted cannot be replayed (exit 3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evi_toolhost.embedded_redis import EmbeddedRedis
from tests.support.stack import Stack

pytestmark = pytest.mark.integration

MODULE = "replay_greetings"
TOOLS = '''
from evi_toolhost import tool


@tool
def greet(name: str) -> str:
    """Greets someone."""
    return f"Hello, {name}!"


@tool(redact=["pin"])
def check_pin(pin: str) -> str:
    """Checks a PIN."""
    return "accepted" if pin.isdigit() else "refused"
'''


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / f"{MODULE}.py").write_text(TOOLS)
    return tmp_path


@pytest.fixture
def stack(redis_server: EmbeddedRedis, folder: Path) -> Iterator[Stack]:
    env = {"PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}
    stack = Stack(redis_server.url, MODULE, **env).start()
    try:
        stack.start_worker(1)
        yield stack
    finally:
        stack.close()


def test_replay_exits_0_for_the_same_answer_and_1_once_the_code_changes_it(stack: Stack, folder: Path) -> None:
    chat_id = stack.chat(allow_connection=False)
    call_id, _ = stack.call("greet", {"name": "Ada"}, chat_id)
    assert stack.record(call_id)["content"] == "Hello, Ada!"

    same = stack.cli("calls", "replay", call_id)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "nothing was sent to Hume" in same.stdout and same.stdout.rstrip().endswith("same answer")
    assert stack.sim.answers_for(call_id) and len(stack.sim.answers_for(call_id)) == 1

    (folder / f"{MODULE}.py").write_text(TOOLS.replace('f"Hello, {name}!"', 'f"Good morning, {name}."'))
    changed = stack.cli("calls", "replay", call_id)
    assert changed.returncode == 1, changed.stdout + changed.stderr
    content = next(line for line in changed.stdout.splitlines() if line.startswith("content"))
    assert content.split()[:2] == ["content", "≠"]
    assert "Hello, Ada!" in content and "Good morning, Ada." in content
    assert changed.stdout.rstrip().endswith("the answer differs")


def test_a_call_with_a_redacted_argument_cannot_be_replayed(stack: Stack) -> None:
    chat_id = stack.chat(allow_connection=False)
    call_id, _ = stack.call("check_pin", {"pin": "2468"}, chat_id)
    assert stack.record(call_id)["content"] == "accepted"
    refused = stack.cli("calls", "replay", call_id)
    assert refused.returncode == 3
    assert "its argument pin was redacted" in refused.stderr and "never stored" in refused.stderr
    unknown = stack.cli("calls", "replay", "toolu_never_seen")
    assert unknown.returncode == 2 and "no record of tool call toolu_never_seen" in unknown.stderr
