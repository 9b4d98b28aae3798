"""The simulator on a real socket as Hume's management API (fixtures in `tests.support.hume_api`), and the
example file with the example tools it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from evi_toolhost.as_code.evi_file import LoadedFile, load_file
from evi_toolhost.commands.plan import registered_tools
from tests.support.hume_api import api, hume, sent, simulator, simulator_server, state  # noqa: F401
from workers.handlers.registry import RegisteredTool

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "evi.yaml"


@pytest.fixture
def example() -> LoadedFile:
    return load_file(EXAMPLE)


@pytest.fixture
def example_tools(example: LoadedFile) -> list[RegisteredTool]:
    return registered_tools(example.tool_modules)
