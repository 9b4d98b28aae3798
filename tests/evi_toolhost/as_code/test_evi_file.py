"""Loading `evi.yaml`: what it declares, environments merged over it, and every mistake named by file, line and
field (Hume's own rules for the settings, unknown keys, references within the file, YAML syntax)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evi_toolhost.as_code import AsCodeError
from evi_toolhost.as_code.evi_file import LoadedFile, WantedTool, load_file

BASE = """\
prompts:
  agent:
    text: You are kind.
configs:
  bot:
    evi_version: "3"
    prompt: agent
    voice: {name: Kora, provider: HUME_AI}
    timeouts:
      inactivity: {enabled: true, duration_secs: 300}
    builtin_tools: [web_search, {name: hang_up, fallback_content: Bye}]
    tools: [get_weather, {name: crm, version: 3}]
environments:
  staging:
    prompts:
      agent: {name: agent-staging}
    configs:
      bot:
        name: bot-staging
        timeouts:
          inactivity: {duration_secs: 60}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "evi.yaml"
    path.write_text(text)
    return path


def error_of(path: Path, environment: str | None = None) -> str:
    with pytest.raises(AsCodeError) as caught:
        load_file(path, environment)
    return str(caught.value)


def test_the_file_declares_prompts_and_configs_with_only_the_settings_given(tmp_path: Path) -> None:
    loaded = load_file(write(tmp_path, BASE))
    assert loaded.prompts["agent"].name == "agent" and loaded.prompts["agent"].text == "You are kind."
    [bot] = loaded.configs
    assert (bot.name, bot.evi_version, bot.prompt_key) == ("bot", "3", "agent")
    assert bot.settings == {
        "voice": {"name": "Kora", "provider": "HUME_AI"},
        "timeouts": {"inactivity": {"enabled": True, "duration_secs": 300}},
        "builtin_tools": [
            {"name": "web_search", "fallback_content": None},
            {"name": "hang_up", "fallback_content": "Bye"},
        ],
    }
    assert bot.tools == (WantedTool("get_weather"), WantedTool("crm", 3))


def test_an_environment_is_merged_over_the_rest(tmp_path: Path) -> None:
    loaded = load_file(write(tmp_path, BASE), "staging")
    assert loaded.prompts["agent"].name == "agent-staging"
    [bot] = loaded.configs
    assert bot.name == "bot-staging"
    assert bot.settings["timeouts"] == {"inactivity": {"enabled": True, "duration_secs": 60}}
    assert bot.settings["voice"] == {"name": "Kora", "provider": "HUME_AI"}


def test_the_example_file_loads(example: LoadedFile) -> None:
    assert example.tool_modules == ("examples.weather",)
    assert [config.name for config in example.configs] == ["concierge"]


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("duration_secs: 300", "duration_secs: 0.5", ":10: configs.bot.timeouts.inactivity.duration_secs: Input"),
        ("duration_secs: 300", "duration_secs: 5", ":10: configs.bot.timeouts.inactivity.duration_secs: Input"),
        ("provider: HUME_AI", "provider: NOPE", ":8: configs.bot.voice.provider: Input should be 'HUME_AI'"),
        ("prompt: agent", "prompt: agnt", ":7: configs.bot.prompt: no prompt 'agnt' in this file (it has: agent)"),
        ('evi_version: "3"', 'evi_version: "2"', ":6: configs.bot.evi_version: Value error, EVI version '2'"),
        ("    timeouts:", "    timeout:", ":9: configs.bot.timeout: Extra inputs are not permitted"),
        ("{enabled: true, duration_secs: 300}", "{enabld: true}", ":10: configs.bot.timeouts.inactivity.enabld: unk"),
        ("web_search", "teleport", ":11: configs.bot.builtin_tools.0: Input should be 'web_search' or 'hang_up'"),
        ("version: 3", "version: -1", ":12: configs.bot.tools.1.version: Input should be greater than or equal to 0"),
    ],
    ids=[
        "half-a-second",
        "below-hume-s-minimum",
        "unknown-voice-provider",
        "unknown-prompt-key",
        "retired-evi-version",
        "unknown-config-field",
        "unknown-nested-field",
        "unknown-builtin",
        "negative-pin",
    ],
)
def test_a_mistake_names_the_line_and_the_field(tmp_path: Path, replace: str, by: str, expected: str) -> None:
    assert replace in BASE
    path = write(tmp_path, BASE.replace(replace, by, 1))
    assert f"{path}{expected}" in error_of(path)


def test_a_mistake_in_an_environment_names_its_own_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("{duration_secs: 60}", "{duration_secs: 6000}"))
    load_file(path)  # the file without the environment is fine
    message = error_of(path, "staging")
    assert message.startswith(f"{path}:21: environments.staging.configs.bot.timeouts.inactivity.duration_secs:")


def test_an_unknown_environment_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    assert error_of(path, "prod") == f"{path}:13: environments: no environment 'prod' (the file has: staging)"


def test_yaml_syntax_and_missing_files_are_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "configs:\n  bot: {evi_version: 3\n")
    assert error_of(path).startswith(f"{path}:3: not valid YAML")
    assert error_of(tmp_path / "none.yaml").startswith(f"cannot read {tmp_path / 'none.yaml'}")


def test_two_configs_with_one_hume_name_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, 'configs:\n  a: {evi_version: "3", name: x}\n  b: {evi_version: "3", name: x}\n')
    assert error_of(path) == f"{path}:1: configs: two configs are named 'x' at Hume; names must differ"
