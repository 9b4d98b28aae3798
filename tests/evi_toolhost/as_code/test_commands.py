"""`evi-toolhost plan`, `apply` and `pull` end to end: environment in, the simulator over HTTP, the printed plan
and table out; a bad file is exit 2 with each problem on a line naming the file's line, Hume's refusals exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from evi_toolhost.cli import main
from evi_toolhost.embedded_redis import free_port
from evi_toolhost.simulator import SimulatorState
from tests.conftest import TEST_API_KEY
from tests.evi_toolhost.as_code.conftest import EXAMPLE
from tests.support.servers import UvicornThread


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, simulator: UvicornThread) -> None:
    monkeypatch.setenv("HUME_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("HUME_API_BASE_URL", simulator.url)
    monkeypatch.setenv("TOOL_MODULES", "")


def test_apply_prints_the_plan_and_a_table_then_has_nothing_to_do(
    env: None, capsys: pytest.CaptureFixture[str], state: SimulatorState
) -> None:
    assert main(["plan", "--file", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "plan: 8 to create, 0 to version, 0 unchanged"
    assert state.configs.listing() == []

    assert main(["apply", "--file", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "config concierge: create" in out
    assert out[-1].split()[:2] == ["config", "concierge"] and out[-1].endswith("0        created")

    assert main(["apply", "--file", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        "plan: 0 to create, 0 to version, 8 unchanged",
        "nothing to do: Hume already matches the file",
    ]


def test_an_environment_applies_its_own_names(env: None, state: SimulatorState) -> None:
    assert main(["apply", "--file", str(EXAMPLE), "--env", "staging"]) == 0
    assert [config.name for config in state.configs.listing()] == ["concierge-staging"]
    assert [prompt.name for prompt in state.prompts.listing()] == ["concierge-staging"]


def test_a_bad_file_is_exit_2_with_every_problem_on_its_line(
    env: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "evi.yaml"
    path.write_text('configs:\n  bot:\n    evi_version: "3"\n    nudges: {interval_secs: 0}\n    voice: {id: 1}\n')
    assert main(["plan", "--file", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"evi-toolhost: {path}:4: configs.bot.nudges.interval_secs: Input should be greater than or equal to 1",
        f"evi-toolhost: {path}:5: configs.bot.voice.id: Input should be a valid string",
    ]


def test_pull_writes_the_file_refuses_to_overwrite_and_can_print(
    env: None, capsys: pytest.CaptureFixture[str], state: SimulatorState, tmp_path: Path
) -> None:
    config = state.configs.create("clicked", {"evi_version": "3"})
    target = tmp_path / "evi.yaml"
    assert main(["pull", "--config-id", config.id, "--file", str(target)]) == 0
    assert "configs:\n  clicked:\n" in target.read_text()
    assert main(["plan", "--file", str(target)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "plan: 0 to create, 0 to version, 1 unchanged"

    assert main(["pull", "--config-id", config.id, "--file", str(target)]) == 2
    assert capsys.readouterr().err == f"evi-toolhost: {target} exists; pass --force to overwrite it\n"
    assert main(["pull", "--config-id", config.id, "--file", "-"]) == 0
    assert "clicked:" in capsys.readouterr().out


def test_hume_s_refusals_are_one_line_and_exit_1(
    env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert main(["pull", "--config-id", "no-such-config", "--file", "-"]) == 1
    assert capsys.readouterr().err == (
        "evi-toolhost: Hume API error 404 on GET /v0/evi/configs/no-such-config: config no-such-config not found\n"
    )
    monkeypatch.setenv("HUME_API_BASE_URL", f"http://127.0.0.1:{free_port()}")
    assert main(["plan", "--file", str(EXAMPLE)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evi-toolhost: cannot reach the Hume API")
