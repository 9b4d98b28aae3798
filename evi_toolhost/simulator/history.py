"""Chat history: `GET /v0/evi/chats/{id}` (`return_chat_paged_events`) and
`GET /v0/evi/chat_groups/{id}/events` (`return_chat_group_paged_events`).

Timestamps are Unix milliseconds, as Hume's API returns them (the spec's prose says seconds).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evi_toolhost.simulator.chats_api import rest_status
from evi_toolhost.simulator.errors import ApiError
from evi_toolhost.simulator.events import ChatEvent
from evi_toolhost.simulator.paging import EventsQuery, page, parse_query
from evi_toolhost.simulator.state import SimulatorState


def _ordered(chat_events: list[ChatEvent], query: EventsQuery) -> list[ChatEvent]:
    return sorted(chat_events, key=lambda event: event.sequence, reverse=not query.ascending_order)


def _paging(query: EventsQuery, total_pages: int) -> dict[str, object]:
    return {
        "page_number": query.page_number,
        "page_size": query.page_size,
        "total_pages": total_pages,
        "pagination_direction": "ASC" if query.ascending_order else "DESC",
    }


async def chat_events(request: Request) -> Response:
    state: SimulatorState = request.app.state.simulator
    query = parse_query(request, EventsQuery)
    chat = state.get_chat(request.path_params["id"])
    selected, total_pages = page(_ordered(list(chat.events), query), query)
    body = {
        "id": chat.id,
        "chat_group_id": chat.chat_group_id,
        "status": rest_status(chat.status),
        "start_timestamp": chat.start_ms,
        "end_timestamp": chat.end_ms,
        "metadata": None,
        **_paging(query, total_pages),
        "events_page": [event.to_json() for event in selected],
    }
    if chat.config_id is not None:
        body["config"] = {"id": chat.config_id, "version": chat.config_version}
    return JSONResponse(body)


async def chat_group_events(request: Request) -> Response:
    state: SimulatorState = request.app.state.simulator
    query = parse_query(request, EventsQuery)
    group_id = request.path_params["id"]
    chats = state.group_chats(group_id)
    if not chats:
        raise ApiError(404, f"chat group {group_id} not found")
    everything = [event for chat in chats for event in chat.events]
    selected, total_pages = page(_ordered(everything, query), query)
    return JSONResponse(
        {"id": group_id, **_paging(query, total_pages), "events_page": [event.to_json() for event in selected]}
    )


routes = [
    Route("/v0/evi/chats/{id}", chat_events, methods=["GET"]),
    Route("/v0/evi/chat_groups/{id}/events", chat_group_events, methods=["GET"]),
]
