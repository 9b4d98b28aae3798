"""A local setup: `dev --sim`, `demo` and `simulate` agree on these made-up keys and default ports, so each
command works against the others with no flags. The keys are never used against Hume."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

DEV_API_KEY = "dev-local-api-key"
DEV_SIGNING_KEY = "dev-local-signing-key"
WEB_PORT = 8000
SIMULATOR_PORT = 8100
SIMULATOR_URL = f"http://127.0.0.1:{SIMULATOR_PORT}"
WEBHOOK_URL = f"http://127.0.0.1:{WEB_PORT}/hume-webhook"
EXAMPLE_TOOLS = "examples.weather"
SEEDED_CONFIG_NAME = "local-dev"


def program() -> str:
    """How the user runs `evi-toolhost` from where they are: the bare name only when it is on PATH."""
    installed = Path(sys.executable).parent / "evi-toolhost"
    on_path = shutil.which("evi-toolhost")
    if on_path is not None and installed.exists() and Path(on_path).resolve() == installed.resolve():
        return "evi-toolhost"
    if installed.exists():
        try:
            return str(installed.relative_to(Path.cwd()))
        except ValueError:
            return str(installed)
    return f"{sys.executable} -m evi_toolhost"


def example_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that fit a tool's JSON Schema: each required parameter with a plausible value."""
    properties: dict[str, Any] = schema.get("properties", {})
    return {name: _example(properties.get(name, {})) for name in schema.get("required", [])}


def _example(schema: dict[str, Any]) -> Any:
    if "default" in schema:
        return schema["default"]
    for key in ("enum", "examples"):
        if schema.get(key):
            return schema[key][0]
    if "const" in schema:
        return schema["const"]
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return _example(options[0])
    kind = schema.get("type")
    if kind == "object":
        return example_arguments(schema)
    return {"integer": 1, "number": 1.5, "boolean": True, "array": [], "null": None}.get(str(kind), "example")


def call_command(tool: str, arguments: dict[str, Any], *, simulator_url: str, webhook_url: str) -> str:
    """The `simulate --call` command that plays one call of `tool` against a running `dev --sim`."""
    parts = [program(), "simulate", "--call", tool, "--args", f"'{json.dumps(arguments)}'"]
    if simulator_url != SIMULATOR_URL:
        parts += ["--simulator-url", simulator_url]
    if webhook_url != WEBHOOK_URL:
        parts += ["--webhook-url", webhook_url]
    if os.environ.get("HUME_API_KEY") or os.environ.get("HUME_WEBHOOK_SIGNING_KEY"):
        parts = [f"HUME_API_KEY={DEV_API_KEY}", f"HUME_WEBHOOK_SIGNING_KEY={DEV_SIGNING_KEY}", *parts]
    return " ".join(parts)
