"""Configs: `/v0/evi/configs` (create, list), `/v0/evi/configs/{id}` (list versions, new version),
`/v0/evi/configs/{id}/version/{version}` (one version).

The posted body is kept as received and returned as `return_config`, with `tools` replaced by the
referenced tool versions (a tool posted without a version follows its latest, `version_type: LATEST`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evi_toolhost.simulator.auth import require_api_key
from evi_toolhost.simulator.catalog import Catalog, Version
from evi_toolhost.simulator.errors import InvalidRequest, path_int, read_json, validate_body
from evi_toolhost.simulator.paging import ListQuery, page, parse_query
from evi_toolhost.simulator.state import SimulatorState
from evi_toolhost.simulator.tools_api import tool_json
from service.evi.messages import BuiltInTool


class ToolSpec(BaseModel):
    """`posted_user_defined_tool_spec`."""

    id: str
    version: int | None = None


class BuiltinToolSpec(BaseModel):
    """`posted_builtin_tool`."""

    name: BuiltInTool
    fallback_content: str | None = None


class WebhookSpec(BaseModel):
    """`posted_webhook_spec`."""

    url: str = Field(min_length=1)
    events: list[Literal["chat_started", "chat_ended", "tool_call"]]


class PostedConfigVersion(BaseModel):
    """`posted_config_version`; fields the simulator does not use are kept as given."""

    model_config = ConfigDict(extra="allow")

    evi_version: str
    version_description: str | None = None
    tools: list[ToolSpec] | None = None
    builtin_tools: list[BuiltinToolSpec] | None = None
    webhooks: list[WebhookSpec] | None = None


class PostedConfig(PostedConfigVersion):
    """`posted_config`."""

    name: str = Field(min_length=1)


def _check_tools(tools: Catalog, posted: PostedConfigVersion) -> None:
    for index, spec in enumerate(posted.tools or []):
        if tools.find(spec.id, spec.version) is None:
            wanted = "any version" if spec.version is None else f"version {spec.version}"
            raise InvalidRequest.single(["body", "tools", index], f"tool {spec.id} ({wanted}) does not exist")


def config_json(version: Version, tools: Catalog) -> dict[str, Any]:
    """`return_config`."""
    fields = dict(version.fields)
    tool_specs = fields.pop("tools", None) or []
    builtin_specs = fields.pop("builtin_tools", None) or []
    return {
        **fields,
        "id": version.id,
        "version": version.version,
        "name": version.name,
        "created_on": version.created_on,
        "modified_on": version.modified_on,
        "version_description": fields.get("version_description"),
        "tools": [
            tool_json(tools.get(spec["id"], spec.get("version")), "LATEST" if spec.get("version") is None else "FIXED")
            for spec in tool_specs
        ],
        "builtin_tools": [
            {"tool_type": "BUILTIN", "name": spec["name"], "fallback_content": spec.get("fallback_content")}
            for spec in builtin_specs
        ],
        "webhooks": fields.get("webhooks") or [],
    }


def _paged(versions: list[Version], query: ListQuery, tools: Catalog) -> Response:
    selected, total_pages = page(versions, query)
    return JSONResponse(
        {
            "page_number": query.page_number,
            "page_size": query.page_size,
            "total_pages": total_pages,
            "configs_page": [config_json(version, tools) for version in selected],
        }
    )


async def create_config(request: Request) -> Response:
    require_api_key(request)
    state: SimulatorState = request.app.state.simulator
    posted = validate_body(PostedConfig, await read_json(request))
    _check_tools(state.tools, posted)
    created = state.configs.create(posted.name, posted.model_dump(mode="json", exclude={"name"}, exclude_unset=True))
    return JSONResponse(config_json(created, state.tools), status_code=201)


async def list_configs(request: Request) -> Response:
    require_api_key(request)
    state: SimulatorState = request.app.state.simulator
    query = parse_query(request, ListQuery)
    most_recent = query.restrict_to_most_recent is not False
    return _paged(state.configs.listing(name=query.name, most_recent=most_recent), query, state.tools)


async def list_config_versions(request: Request) -> Response:
    require_api_key(request)
    state: SimulatorState = request.app.state.simulator
    query = parse_query(request, ListQuery)
    versions = state.configs.versions(request.path_params["id"])
    return _paged(versions[-1:] if query.restrict_to_most_recent else versions, query, state.tools)


async def create_config_version(request: Request) -> Response:
    require_api_key(request)
    state: SimulatorState = request.app.state.simulator
    config_id = request.path_params["id"]
    state.configs.get(config_id)
    posted = validate_body(PostedConfigVersion, await read_json(request))
    _check_tools(state.tools, posted)
    added = state.configs.add_version(config_id, posted.model_dump(mode="json", exclude_unset=True))
    return JSONResponse(config_json(added, state.tools), status_code=201)


async def get_config_version(request: Request) -> Response:
    require_api_key(request)
    state: SimulatorState = request.app.state.simulator
    version = state.configs.get(request.path_params["id"], path_int(request, "version"))
    return JSONResponse(config_json(version, state.tools))


routes = [
    Route("/v0/evi/configs", create_config, methods=["POST"]),
    Route("/v0/evi/configs", list_configs, methods=["GET"]),
    Route("/v0/evi/configs/{id}", list_config_versions, methods=["GET"]),
    Route("/v0/evi/configs/{id}", create_config_version, methods=["POST"]),
    Route("/v0/evi/configs/{id}/version/{version}", get_config_version, methods=["GET"]),
]
