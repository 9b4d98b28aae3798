"""Scripts: the bundled weather script, YAML and JSON files, defaults, and clear errors for bad ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evi_toolhost.simulator import ScriptError, load_script, parse_script
from evi_toolhost.simulator.script import AssistantTurn, ToolTurn, UserTurn, bundled_script
from service.evi.messages import ToolType


def test_bundled_weather_script_has_a_function_call_and_a_builtin_search() -> None:
    path = bundled_script("weather")
    assert path is not None and path.name == "weather.yaml"
    script = load_script("weather")
    weather, search = script.tool_turns
    assert (weather.tool, weather.arguments, weather.tool_type) == (
        "get_weather",
        {"city": "Paris", "unit": "celsius"},
        ToolType.FUNCTION,
    )
    assert weather.requires_response and weather.expect.type == "tool_response"
    assert (search.tool, search.tool_type, search.requires_response) == ("web_search", ToolType.BUILTIN, False)
    assert search.expect.type == "none"
    assert isinstance(script.turns[0], UserTurn)
    assert any(isinstance(turn, AssistantTurn) for turn in script.turns)


def test_json_script_file_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "call.json"
    path.write_text(json.dumps({"turns": [{"tool": "lookup"}, {"tool": "web_search", "tool_type": "builtin"}]}))
    script = load_script(path)
    lookup, search = script.tool_turns
    assert (lookup.arguments, lookup.via, lookup.requires_response, lookup.expect.type) == ({}, "webhook", True, None)
    assert search.requires_response is False
    assert script.chat.allow_connection is True
    assert script.end_reason == "USER_ENDED"


@pytest.mark.parametrize(
    ("data", "mentions"),
    [
        ({"turns": [{"say": "hi"}]}, "user, assistant, tool"),
        ({"turns": [{"tool": "web_search", "tool_type": "builtin", "response_required": True}]}, "builtin"),
        ({"turns": []}, "turns"),
        ({"turns": [{"tool": "get_weather", "argument": {}}]}, "argument"),
        ({"turns": [{"tool": "get_weather", "via": "carrier-pigeon"}]}, "via"),
        ({"turns": [{"tool": "t", "expect": {"type": "maybe"}}]}, "expect.type"),
        ({"chat": {"allow_connections": True}, "turns": [{"user": "hi"}]}, "allow_connections"),
        ("just text", "(top)"),
    ],
    ids=["unknown-turn", "builtin-required", "no-turns", "typo", "bad-via", "bad-expect", "chat-typo", "not-a-map"],
)
def test_invalid_script_names_the_problem(data: object, mentions: str) -> None:
    with pytest.raises(ScriptError) as error:
        parse_script(data, "my-script.yaml")
    assert "my-script.yaml" in str(error.value)
    assert mentions in str(error.value)


def test_unreadable_or_unparsable_files_are_script_errors(tmp_path: Path) -> None:
    with pytest.raises(ScriptError, match="cannot read"):
        load_script(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("turns: [unclosed")
    with pytest.raises(ScriptError, match="not valid YAML"):
        load_script(broken)


def test_tool_turn_model_is_strict_about_timeout() -> None:
    with pytest.raises(ScriptError, match="timeout"):
        parse_script({"turns": [{"tool": "t", "timeout": 0}]})
    assert isinstance(parse_script({"turns": [{"tool": "t", "timeout": 0.5}]}).turns[0], ToolTurn)
