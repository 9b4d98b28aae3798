"""Tools: `/v0/evi/tools` (create, list), `/v0/evi/tools/{id}` (list versions, new version),
`/v0/evi/tools/{id}/version/{version}` (one version). Answers are `return_user_defined_tool`.

`GET /v0/evi/tools` returns the latest version of each tool unless `restrict_to_most_recent=false`;
`GET /v0/evi/tools/{id}` lists every version unless `restrict_to_most_recent=true`.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evi_toolhost.simulator.auth import require_api_key
from evi_toolhost.simulator.catalog import Version
from evi_toolhost.simulator.errors import path_int, read_json, validate_body
from evi_toolhost.simulator.paging import ListQuery, page, parse_query
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


def _paged(versions: list[Version], query: ListQuery) -> Response:
    selected, total_pages = page(versions, query)
    return JSONResponse(
        {
            "page_number": query.page_number,
            "page_size": query.page_size,
            "total_pages": total_pages,
            "tools_page": [tool_json(version) for version in selected],
        }
    )


async def create_tool(request: Request) -> Response:
    require_api_key(request)
    state: SimulatorState = request.app.state.simulator
    posted = validate_body(PostedTool, await read_json(request))
    created = state.tools.create(posted.name, posted.model_dump(exclude={"name"}))
    return JSONResponse(tool_json(created), status_code=201)


async def list_tools(request: Request) -> Response:
    require_api_key(request)
    state: SimulatorState = request.app.state.simulator
    query = parse_query(request, ListQuery)
    most_recent = query.restrict_to_most_recent is not False
    return _paged(state.tools.listing(name=query.name, most_recent=most_recent), query)


async def list_tool_versions(request: Request) -> Response:
    require_api_key(request)
    state: SimulatorState = request.app.state.simulator
    query = parse_query(request, ListQuery)
    versions = state.tools.versions(request.path_params["id"])
    return _paged(versions[-1:] if query.restrict_to_most_recent else versions, query)


async def create_tool_version(request: Request) -> Response:
    require_api_key(request)
    state: SimulatorState = request.app.state.simulator
    tool_id = request.path_params["id"]
    state.tools.get(tool_id)
    posted = validate_body(PostedToolVersion, await read_json(request))
    return JSONResponse(tool_json(state.tools.add_version(tool_id, posted.model_dump())), status_code=201)


async def get_tool_version(request: Request) -> Response:
    require_api_key(request)
    state: SimulatorState = request.app.state.simulator
    return JSONResponse(tool_json(state.tools.get(request.path_params["id"], path_int(request, "version"))))


routes = [
    Route("/v0/evi/tools", create_tool, methods=["POST"]),
    Route("/v0/evi/tools", list_tools, methods=["GET"]),
    Route("/v0/evi/tools/{id}", list_tool_versions, methods=["GET"]),
    Route("/v0/evi/tools/{id}", create_tool_version, methods=["POST"]),
    Route("/v0/evi/tools/{id}/version/{version}", get_tool_version, methods=["GET"]),
]
