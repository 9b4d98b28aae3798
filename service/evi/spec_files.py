"""Hume's EVI API contract as vendored in `service/evi/spec/`: OpenAPI (REST and webhooks), AsyncAPI (sockets)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

OPENAPI = "evi-openapi.yml"
ASYNCAPI = "evi-asyncapi.yml"


def spec_path(file_name: str) -> Path:
    return Path(str(resources.files("service.evi") / "spec" / file_name))


@cache
def load_spec(file_name: str) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(spec_path(file_name).read_text(encoding="utf-8"))
    return spec


def schemas(file_name: str) -> dict[str, Any]:
    """`components/schemas` of one spec file."""
    found: dict[str, Any] = load_spec(file_name)["components"]["schemas"]
    return found
