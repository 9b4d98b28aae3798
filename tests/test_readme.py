"""The README's handler example is real code: it registers and answers as the README says."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

import workers
from service.evi.control_plane import RecordingControlPlane
from workers.handlers.registry import Registry
from workers.testing import call_tool

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    section = README.read_text().split("## Writing a tool", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    fresh = Registry()
    monkeypatch.setattr(workers, "tool", fresh.tool)
    exec(compile(readme_example(), str(README), "exec"), {"__name__": "readme_example"})
    return fresh


def call(registry: Registry, arguments: dict[str, str], recorder: RecordingControlPlane | None = None) -> Any:
    return asyncio.run(call_tool("get_forecast", arguments, registry=registry, control_plane=recorder))


def test_the_example_says_one_moment_then_answers(registry: Registry) -> None:
    recorder = RecordingControlPlane()
    answer = call(registry, {"city": "Paris"}, recorder)
    assert answer.type == "tool_response"
    assert json.loads(answer.content) == {"city": "Paris", "high": 21, "unit": "celsius"}
    assert [message.type for message in recorder.messages()] == ["assistant_input", "tool_response"]


def test_the_example_raises_tool_error_and_rejects_bad_units(registry: Registry) -> None:
    unknown = call(registry, {"city": "Atlantis"})
    assert (unknown.type, unknown.code) == ("tool_error", "unknown_city")
    kelvin = call(registry, {"city": "Oslo", "unit": "kelvin"})
    assert (kelvin.type, kelvin.code) == ("tool_error", "invalid_arguments")


def test_the_testing_snippet_in_the_readme_matches_the_example(registry: Registry) -> None:
    assert 'call_tool("get_forecast", {"city": "Atlantis"})' in README.read_text()
    assert call(registry, {"city": "Atlantis"}).code == "unknown_city"
