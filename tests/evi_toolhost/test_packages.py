"""A user's own `workers` or `service` package earlier on sys.path stops the command with one line naming both."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import workers
from evi_toolhost.packages import ShadowedPackage, check_packages, shadowing_problem


def test_our_own_packages_are_not_a_problem() -> None:
    assert shadowing_problem() is None
    check_packages()


@pytest.mark.parametrize("name", ["workers", "service"])
def test_a_shadowing_package_stops_the_command_with_one_line(tmp_path: Path, name: str) -> None:
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    # Run from the user's project folder, which `python -m` puts first on sys.path.
    done = subprocess.run(
        [sys.executable, "-m", "evi_toolhost", "worker"], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    ours = Path(workers.__file__).resolve().parent.parent / name
    assert done.stderr.strip() == (
        f"evi-toolhost: {tmp_path / name} shadows evi-toolhost's own {name!r} package ({ours}): "
        "rename your package or take its folder off sys.path (PYTHONPATH, the working directory)"
    )


def test_importing_the_surface_under_a_shadow_is_an_import_error_that_says_so(tmp_path: Path) -> None:
    (tmp_path / "workers").mkdir()
    (tmp_path / "workers" / "__init__.py").write_text("")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}  # the folder is on the path, here by PYTHONPATH
    code = (
        "import evi_toolhost\n"
        "try:\n"
        "    evi_toolhost.tool\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, exc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert done.stdout.startswith(f"{ShadowedPackage.__name__} evi-toolhost: {tmp_path / 'workers'} shadows"), done
