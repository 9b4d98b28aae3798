"""`evi-toolhost chats list|show|export` and `chat-groups show` end to end: chats run in the simulator (on a real
socket) with a tool call answered over the control plane, our call record in the session's own Redis for the
latency, and the same commands with Redis unreachable, which still show everything else and say why."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from redis import Redis

from evi_toolhost.cli import main
from evi_toolhost.embedded_redis import free_port
from evi_toolhost.simulator import Chat, SimulatorState
from tests.conftest import TEST_API_KEY
from tests.support.servers import UvicornThread
from workers.records import update_call


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, simulator: UvicornThread) -> None:
    monkeypatch.setenv("HUME_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("HUME_API_BASE_URL", simulator.url)
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")


@pytest.fixture
def chats(state: SimulatorState, api: httpx.Client) -> tuple[Chat, Chat, str]:
    """A chat with a weather call answered over HTTP, ended; then a resumed chat in its group."""
    first = state.start_chat()
    state.add_user_message(first.id, "What's the weather in Paris?", emotions={"Interest": 0.8, "Joy": 0.4})
    call = state.add_tool_call(first.id, name="get_weather", parameters='{"city": "Paris"}')
    answer = {"type": "tool_response", "tool_call_id": call.tool_call_id, "content": "Sunny, 21 C"}
    assert api.post(f"/v0/evi/chat/{first.id}/send", json=answer).status_code == 200
    state.add_assistant_message(first.id, "It is sunny in Paris.")
    state.end_chat(first.id)
    resumed = state.start_chat(chat_group_id=first.chat_group_id)
    state.add_user_message(resumed.id, "Thanks again!")
    return first, resumed, call.tool_call_id


def record(redis: Redis, tool_call_id: str) -> None:
    update_call(redis, tool_call_id, 60, received_ms=1_000, answered_ms=1_087, status="answered")


def test_list_shows_recent_chats_newest_first_with_their_tool_calls(
    env: None, chats: tuple[Chat, Chat, str], capsys: pytest.CaptureFixture[str]
) -> None:
    first, resumed, _ = chats
    assert main(["chats", "list"]) == 0
    header, newest, oldest = capsys.readouterr().out.splitlines()
    assert header.split() == ["chat", "group", "status", "started", "(UTC)", "duration", "tool", "calls"]
    assert newest.split()[:3] == [resumed.id, resumed.chat_group_id, "ACTIVE"] and newest.split()[-2:] == [
        "running",
        "0",
    ]
    assert oldest.split()[:3] == [first.id, first.chat_group_id, "USER_ENDED"] and oldest.split()[-1] == "1"


def test_show_joins_the_transcript_with_our_latency_and_hume_s_emotions(
    env: None,
    chats: tuple[Chat, Chat, str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    real_redis: Redis,
) -> None:
    first, _, tool_call_id = chats
    record(real_redis, tool_call_id)
    monkeypatch.setenv("REDIS_URL", redis_url)
    assert main(["chats", "show", first.id]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"chat {first.id} (group {first.chat_group_id}), USER_ENDED, ")
    assert lines[1].endswith("user: What's the weather in Paris?")
    assert lines[2].strip().startswith("(Interest 0.80, Joy 0.40, ")
    assert lines[3].endswith('tool get_weather({"city": "Paris"}) → tool_response: Sunny, 21 C [87 ms]')
    assert lines[4].endswith("assistant: It is sunny in Paris.")


def test_without_redis_show_says_why_the_latency_is_missing(
    env: None, chats: tuple[Chat, Chat, str], capsys: pytest.CaptureFixture[str]
) -> None:
    first, _, _ = chats
    assert main(["chats", "show", first.id]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[1].startswith("  no call records: Redis at redis://127.0.0.1:") and "tool latencies not shown" in lines[1]
    )
    assert lines[4].endswith("→ tool_response: Sunny, 21 C [latency unknown]")


def test_export_as_json_lines_and_markdown(
    env: None, chats: tuple[Chat, Chat, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    first, _, tool_call_id = chats
    assert main(["chats", "export", first.id, "--format", "jsonl"]) == 0
    captured = capsys.readouterr()
    entries = [json.loads(line) for line in captured.out.splitlines()]
    assert [entry["kind"] for entry in entries] == ["message", "tool_call", "message"]
    assert entries[0]["emotions"][0] == {"name": "Interest", "score": 0.8}
    assert (entries[1]["tool_call_id"], entries[1]["answer"], entries[1]["latency_ms"]) == (
        tool_call_id,
        "Sunny, 21 C",
        None,
    )
    assert "tool latencies left out" in captured.err

    target = tmp_path / "chat.md"
    assert main(["chats", "export", first.id, "--format", "md", "--output", str(target)]) == 0
    markdown = target.read_text()
    assert markdown.startswith(f"# Chat {first.id}\n")
    assert '- tool `get_weather` `{"city": "Paris"}` → tool_response: Sunny, 21 C (latency unknown)' in markdown


def test_chat_groups_show_every_chat_of_the_group(
    env: None, chats: tuple[Chat, Chat, str], capsys: pytest.CaptureFixture[str]
) -> None:
    first, resumed, _ = chats
    assert main(["chat-groups", "show", first.chat_group_id]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"chat group {first.chat_group_id}: 2 chats\n")
    assert (
        out.index(f"chat {first.id}, USER_ENDED") < out.index("It is sunny") < out.index(f"chat {resumed.id}, ACTIVE")
    )
    assert out.splitlines()[-2].endswith("user: Thanks again!"), "a spoken message, so its emotions follow"


def test_an_unknown_chat_is_one_line_and_exit_1(env: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chats", "show", "no-such-chat"]) == 1
    assert (
        capsys.readouterr().err
        == "evi-toolhost: Hume API error 404 on GET /v0/evi/chats/no-such-chat: chat no-such-chat not found\n"
    )
