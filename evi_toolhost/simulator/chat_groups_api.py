"""Chat groups as Hume lists them, made from the chats the simulator ran (a group is the chats sharing a
`chat_group_id`): `GET /v0/evi/chat_groups` (`return_paged_chat_groups`, by first start, filtered by the config
of each group's most recent chat), `GET /v0/evi/chat_groups/{id}` (`return_chat_group_paged_chats`) and
`GET /v0/evi/chat_groups/{id}/audio`. (A group's events are in `history`.)
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evi_toolhost.simulator.chats import Chat
from evi_toolhost.simulator.chats_api import audio_json, chat_json, config_spec, in_order, paging, rest_status
from evi_toolhost.simulator.errors import ApiError
from evi_toolhost.simulator.paging import EventsQuery, page, parse_query
from evi_toolhost.simulator.state import SimulatorState


class GroupsQuery(EventsQuery):
    config_id: str | None = None


class GroupChatsQuery(EventsQuery):
    status: str | None = None


def group_json(group_id: str, chats: list[Chat]) -> dict[str, Any]:
    """`return_chat_group` of a group's chats (oldest first)."""
    latest = max(chats, key=lambda chat: chat.start_time)
    body: dict[str, Any] = {
        "id": group_id,
        "first_start_timestamp": min(chat.start_ms for chat in chats),
        "most_recent_start_timestamp": latest.start_ms,
        "most_recent_chat_id": latest.id,
        "num_chats": len(chats),
        "active": any(chat.active for chat in chats),
    }
    config = config_spec(latest)
    if config is not None:
        body["most_recent_config"] = config
    return body


def _groups(state: SimulatorState) -> dict[str, list[Chat]]:
    groups: dict[str, list[Chat]] = {}
    for chat in state.all_chats():
        groups.setdefault(chat.chat_group_id, []).append(chat)
    return groups


def _group(state: SimulatorState, group_id: str) -> list[Chat]:
    chats = state.group_chats(group_id)
    if not chats:
        raise ApiError(404, f"chat group {group_id} not found")
    return chats


async def list_chat_groups(request: Request) -> Response:
    state: SimulatorState = request.app.state.simulator
    query = parse_query(request, GroupsQuery)
    groups = [group_json(group_id, chats) for group_id, chats in _groups(state).items()]
    if query.config_id is not None:
        groups = [group for group in groups if group.get("most_recent_config", {}).get("id") == query.config_id]
    groups.sort(key=lambda group: int(group["first_start_timestamp"]), reverse=not query.ascending_order)
    selected, total_pages = page(groups, query)
    return JSONResponse({**paging(query, total_pages), "chat_groups_page": selected})


async def get_chat_group(request: Request) -> Response:
    state: SimulatorState = request.app.state.simulator
    query = parse_query(request, GroupChatsQuery)
    group_id = request.path_params["id"]
    chats = _group(state, group_id)
    listed = [chat for chat in chats if query.status is None or rest_status(chat.status) == query.status]
    selected, total_pages = page(in_order(listed, query), query)
    summary = group_json(group_id, chats)
    summary.pop("most_recent_chat_id")
    summary.pop("most_recent_config", None)
    return JSONResponse({**summary, **paging(query, total_pages), "chats_page": [chat_json(c) for c in selected]})


async def chat_group_audio(request: Request) -> Response:
    state: SimulatorState = request.app.state.simulator
    query = parse_query(request, EventsQuery)
    group_id = request.path_params["id"]
    chats = _group(state, group_id)
    selected, total_pages = page(in_order(chats, query), query)
    return JSONResponse(
        {
            "id": group_id,
            "user_id": state.user_id,
            "num_chats": len(chats),
            **paging(query, total_pages),
            "audio_reconstructions_page": [audio_json(chat, state.user_id) for chat in selected],
        }
    )


routes = [
    Route("/v0/evi/chat_groups", list_chat_groups, methods=["GET"]),
    Route("/v0/evi/chat_groups/{id}", get_chat_group, methods=["GET"]),
    Route("/v0/evi/chat_groups/{id}/audio", chat_group_audio, methods=["GET"]),
]
