"""The layout's rules (import-linter contracts in pyproject.toml, run by .ci/run) stay complete and true."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
import tomllib
from pathlib import Path

import service

ROOT = Path(__file__).resolve().parents[1]


def contracts() -> dict[str, dict[str, list[str]]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["name"]: contract for contract in config["contracts"]}


def test_every_module_of_service_is_either_web_tier_or_shared() -> None:
    found = contracts()
    web = set(found["The worker tier never imports the web tier or the CLI wiring"]["forbidden_modules"])
    shared_contract = found["The shared code (protocol, queue contract, settings) never imports the web tier"]
    shared = set(shared_contract["source_modules"])
    modules = {f"service.{info.name}" for info in pkgutil.iter_modules(service.__path__)}
    assert web & shared == set()
    assert modules - web - shared == set(), "classify each new service module in pyproject.toml's contracts"


def test_importing_the_web_app_loads_nothing_of_the_worker_tier() -> None:
    code = "import service.app, sys; print([m for m in sys.modules if m.startswith('workers')])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_command_line_loads_no_tier_before_its_subcommand_is_chosen() -> None:
    code = "import evi_toolhost.cli, sys; print(sorted(m for m in sys.modules if m.startswith(('workers', 'service'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
