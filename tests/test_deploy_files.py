"""The Procfile, Dockerfile, .env.example and README name things that exist (no Docker engine here)."""

from __future__ import annotations

import importlib
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from evi_toolhost.cli import SUBCOMMANDS, command_module
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def procfile_commands() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: shlex.split(command) for name, command in (line.split(":", 1) for line in lines if line.strip())}


def dockerfile_commands() -> list[list[str]]:
    text = (ROOT / "Dockerfile").read_text()
    entrypoint = re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M)
    cmd = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert entrypoint and cmd
    return [json.loads(entrypoint.group(1)) + json.loads(cmd.group(1))]


def test_the_console_script_points_at_the_cli() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts["evi-toolhost"].partition(":")
    assert callable(getattr(importlib.import_module(module), function))


def test_procfile_has_the_three_processes() -> None:
    assert set(procfile_commands()) == {"web", "worker", "relay"}


@pytest.mark.parametrize("command", [*procfile_commands().values(), *dockerfile_commands()], ids=str)
def test_every_deployed_command_resolves_to_a_real_entry_point(command: list[str]) -> None:
    program, subcommand = command[0], command[1]
    assert program == "evi-toolhost"
    assert subcommand in SUBCOMMANDS
    module = command_module(subcommand)
    assert callable(module.configure) and callable(module.run)


def test_env_example_and_readme_document_every_setting() -> None:
    variables = {name.upper() for name in Settings.model_fields}
    env_example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    assert [v for v in variables if v not in env_example] == []
    assert [v for v in variables if f"`{v}`" not in readme] == []


def constraints() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pins = [line.split("==") for line in lines if line and not line.startswith("#")]
    return {canonicalize_name(name): version for name, version in pins}


def test_the_constraints_pin_every_runtime_dependency_within_its_range() -> None:
    """The image's: the dependencies and the mcp and otel extras."""
    pinned = constraints()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    for requirement in map(Requirement, project["dependencies"] + extras["mcp"] + extras["otel"]):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pinned[name]), f"{name}=={pinned[name]} is outside {requirement}"


def test_the_image_installs_the_pinned_versions_and_shows_how_to_add_tools() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-c constraints.txt" in dockerfile
    assert "p['dependencies'] + p['optional-dependencies']['mcp'] + p['optional-dependencies']['otel']" in dockerfile
    example = (ROOT / "examples" / "my-tools" / "Dockerfile").read_text()
    assert example.startswith("# ") and "\nFROM evi-toolhost\n" in example
    assert "-c /app/constraints.txt /src" in example
