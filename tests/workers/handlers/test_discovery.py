"""Finding handler modules, and the worker refusing to start when one is broken."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_API_KEY
from workers.handlers.discovery import DiscoveryError, discover


def test_modules_are_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_tools_ok.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert discover(["my_tools_ok"], include_entry_points=False) == ["my_tools_ok"]
    assert sys.modules["my_tools_ok"].LOADED is True


@pytest.mark.parametrize(
    ("source", "error"),
    [
        (None, "ModuleNotFoundError: No module named 'my_tools_missing'"),
        ("raise RuntimeError('no\\nconfig')", "RuntimeError: no config"),
        (
            "from workers.handlers.registry import Registry\nr = Registry()\n@r.tool(timout=3)\ndef f() -> None: ...\n",
            "TypeError: @tool got unknown option(s) 'timout'",
        ),
    ],
)
def test_a_broken_module_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str | None, error: str
) -> None:
    name = "my_tools_missing" if source is None else f"my_tools_broken_{abs(hash(source))}"
    if source is not None:
        (tmp_path / f"{name}.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(DiscoveryError) as info:
        discover([name], include_entry_points=False)
    message = str(info.value)
    assert message.startswith(f"cannot import tool module {name!r} (from TOOL_MODULES): ")
    assert error in message
    assert "\n" not in message


def test_worker_exits_2_naming_the_module(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HUME_API_KEY": TEST_API_KEY,
        "TOOL_MODULES": "examples.weather,no_such_tools_module",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    result = subprocess.run(
        [sys.executable, "-m", "evi_toolhost", "worker"], env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "evi-toolhost worker: cannot import tool module 'no_such_tools_module' (from TOOL_MODULES): "
        "ModuleNotFoundError: No module named 'no_such_tools_module'"
    )
    assert "Traceback" not in result.stderr
