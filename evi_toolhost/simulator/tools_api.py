"""Tools: Hume's nine tool routes (`records_api`), answering `return_user_defined_tool`.

A tool's `parameters` is a JSON Schema object encoded as a string; a posted version is kept as received.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from evi_toolhost.simulator.catalog import Version
from evi_toolhost.simulator.errors import validate_body
from evi_toolhost.simulator.records_api import RecordKind, records_routes
from evi_toolhost.simulator.state import SimulatorState


class PostedToolVersion(BaseModel):
    """`posted_user_defined_tool_version`."""

    model_config = ConfigDict(extra="ignore")

    parameters: str
    description: str | None = None
    fallback_content: str | None = None
    version_description: str | None = None

    @field_validator("parameters")
    @classmethod
    def _is_json_schema_text(cls, value: str) -> str:
        try:
            schema = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"parameters must be a JSON Schema encoded as a string, not valid JSON: {exc}") from None
        if not isinstance(schema, dict):
            raise ValueError("parameters must be a JSON Schema object encoded as a string")
        return value


class PostedTool(PostedToolVersion):
    """`posted_user_defined_tool`."""

    name: str = Field(min_length=1)


def tool_json(version: Version, version_type: str = "FIXED") -> dict[str, Any]:
    """`return_user_defined_tool`."""
    return {
        "tool_type": "FUNCTION",
        "id": version.id,
        "version": version.version,
        "version_type": version_type,
        "version_description": version.fields.get("version_description"),
        "name": version.name,
        "created_on": version.created_on,
        "modified_on": version.modified_on,
        "fallback_content": version.fields.get("fallback_content"),
        "description": version.fields.get("description"),
        "parameters": version.fields["parameters"],
    }


def _create(state: SimulatorState, body: Any) -> Version:
    posted = validate_body(PostedTool, body)
    return state.tools.create(posted.name, posted.model_dump(exclude={"name"}))


def _add_version(state: SimulatorState, tool_id: str, body: Any) -> Version:
    return state.tools.add_version(tool_id, validate_body(PostedToolVersion, body).model_dump())


TOOLS = RecordKind(
    plural="tools",
    catalog=lambda state: state.tools,
    render=lambda state, version: tool_json(version),
    render_listed=lambda state, version: tool_json(version),
    create=_create,
    add_version=_add_version,
)

routes = records_routes(TOOLS)
