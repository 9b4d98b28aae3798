"""The nine routes every versioned kind (prompts, tools, configs) has at Hume, for one `RecordKind`:

| route | what |
|---|---|
| `POST /v0/evi/{kind}` | create: version 0 (201) |
| `GET /v0/evi/{kind}` | list: the latest version of each, or every version with `restrict_to_most_recent=false` |
| `GET /v0/evi/{kind}/{id}` | the record's versions (the latest only with `restrict_to_most_recent=true`) |
| `POST /v0/evi/{kind}/{id}` | a new version (201) |
| `PATCH /v0/evi/{kind}/{id}` | rename every version (`{"name"}`) |
| `DELETE /v0/evi/{kind}/{id}` | delete the record and its versions |
| `GET /v0/evi/{kind}/{id}/version/{version}` | one version |
| `PATCH /v0/evi/{kind}/{id}/version/{version}` | set its `version_description` |
| `DELETE /v0/evi/{kind}/{id}/version/{version}` | delete one version (the last one: the record) |

Renames and deletes answer `{}`; the API key is checked before any of this (`auth.ApiKeyGate`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evi_toolhost.simulator.catalog import Catalog, Version
from evi_toolhost.simulator.errors import path_int, read_json, validate_body
from evi_toolhost.simulator.paging import ListQuery, page, parse_query
from evi_toolhost.simulator.state import SimulatorState

Render = Callable[[SimulatorState, Version], dict[str, Any]]


@dataclass(frozen=True)
class RecordKind:
    plural: str
    """The path segment and the page's key: `tools` → `/v0/evi/tools`, `tools_page`."""
    catalog: Callable[[SimulatorState], Catalog]
    render: Render
    """One version as a single answer (`return_*_public` shapes)."""
    render_listed: Render
    """One version as an item of a page."""
    create: Callable[[SimulatorState, Any], Version]
    """Validate a posted body (parsed JSON) and store version 0."""
    add_version: Callable[[SimulatorState, str, Any], Version]
    """Validate a posted body and store the next version of an existing record."""


class PostedName(BaseModel):
    """`posted_*_name`."""

    name: str = Field(min_length=1)


class PostedVersionDescription(BaseModel):
    """`posted_*_version_description`."""

    version_description: str | None = None


def records_routes(kind: RecordKind) -> list[Route]:
    def state_of(request: Request) -> SimulatorState:
        state: SimulatorState = request.app.state.simulator
        return state

    def paged(state: SimulatorState, versions: list[Version], query: ListQuery) -> Response:
        selected, total_pages = page(versions, query)
        return JSONResponse(
            {
                "page_number": query.page_number,
                "page_size": query.page_size,
                "total_pages": total_pages,
                f"{kind.plural}_page": [kind.render_listed(state, version) for version in selected],
            }
        )

    async def create(request: Request) -> Response:
        state = state_of(request)
        return JSONResponse(kind.render(state, kind.create(state, await read_json(request))), status_code=201)

    async def list_records(request: Request) -> Response:
        state = state_of(request)
        query = parse_query(request, ListQuery)
        most_recent = query.restrict_to_most_recent is not False
        return paged(state, kind.catalog(state).listing(name=query.name, most_recent=most_recent), query)

    async def list_versions(request: Request) -> Response:
        state = state_of(request)
        query = parse_query(request, ListQuery)
        versions = kind.catalog(state).versions(request.path_params["id"])
        return paged(state, versions[-1:] if query.restrict_to_most_recent else versions, query)

    async def add_version(request: Request) -> Response:
        state = state_of(request)
        record_id = request.path_params["id"]
        kind.catalog(state).get(record_id)
        added = kind.add_version(state, record_id, await read_json(request))
        return JSONResponse(kind.render(state, added), status_code=201)

    async def rename(request: Request) -> Response:
        state = state_of(request)
        record_id = request.path_params["id"]
        kind.catalog(state).get(record_id)
        kind.catalog(state).rename(record_id, validate_body(PostedName, await read_json(request)).name)
        return JSONResponse({})

    async def delete(request: Request) -> Response:
        state = state_of(request)
        kind.catalog(state).delete(request.path_params["id"])
        return JSONResponse({})

    async def get_version(request: Request) -> Response:
        state = state_of(request)
        version = kind.catalog(state).get(request.path_params["id"], path_int(request, "version"))
        return JSONResponse(kind.render(state, version))

    async def describe_version(request: Request) -> Response:
        state = state_of(request)
        record_id, number = request.path_params["id"], path_int(request, "version")
        kind.catalog(state).get(record_id, number)
        body = validate_body(PostedVersionDescription, await read_json(request))
        described = kind.catalog(state).describe_version(record_id, number, body.version_description)
        return JSONResponse(kind.render(state, described))

    async def delete_version(request: Request) -> Response:
        state = state_of(request)
        kind.catalog(state).delete_version(request.path_params["id"], path_int(request, "version"))
        return JSONResponse({})

    base = f"/v0/evi/{kind.plural}"
    return [
        by_method(base, GET=list_records, POST=create),
        by_method(f"{base}/{{id}}", GET=list_versions, POST=add_version, PATCH=rename, DELETE=delete),
        by_method(f"{base}/{{id}}/version/{{version}}", GET=get_version, PATCH=describe_version, DELETE=delete_version),
    ]


Endpoint = Callable[[Request], Awaitable[Response]]


def by_method(path: str, **endpoints: Endpoint) -> Route:
    """One route for a path that several methods share, so a method it lacks gets 405 with every allowed one in
    `Allow` (a route per method would name only its own)."""

    async def dispatch(request: Request) -> Response:
        return await endpoints[request.method if request.method in endpoints else "GET"](request)

    return Route(path, dispatch, methods=list(endpoints))
