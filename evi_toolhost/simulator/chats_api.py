"""Chats as Hume lists them: `GET /v0/evi/chats` (`return_paged_chats`: every chat the simulator ran, oldest
first unless `ascending_order=false`, filtered by `config_id` and `status`) and `GET /v0/evi/chats/{id}/audio`.

The simulator hears no audio: a chat's reconstruction is `QUEUED` while it runs and `COMPLETE` once it ended,
with no file to fetch. (A chat's events are in `history`.)
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evi_toolhost.simulator.chats import Chat
from evi_toolhost.simulator.paging import EventsQuery, page, parse_query
from evi_toolhost.simulator.state import SimulatorState
from service.evi.webhooks import ChatStatus


class ChatsQuery(EventsQuery):
    config_id: str | None = None
    status: str | None = None
    """A `ReturnChatStatus`; any other text matches no chat."""


def rest_status(status: ChatStatus) -> str:
    """`ReturnChatStatus`, which has no SILENCE_TIMEOUT (a webhook status): Hume's history calls it USER_TIMEOUT."""
    return ChatStatus.USER_TIMEOUT.value if status is ChatStatus.SILENCE_TIMEOUT else status.value


def config_spec(chat: Chat) -> dict[str, Any] | None:
    """`return_config_spec` of the config the chat ran on, if any."""
    return None if chat.config_id is None else {"id": chat.config_id, "version": chat.config_version}


def chat_json(chat: Chat) -> dict[str, Any]:
    """`return_chat`."""
    body: dict[str, Any] = {
        "id": chat.id,
        "chat_group_id": chat.chat_group_id,
        "status": rest_status(chat.status),
        "start_timestamp": chat.start_ms,
        "end_timestamp": chat.end_ms,
        "event_count": len(chat.events),
        "metadata": None,
    }
    config = config_spec(chat)
    if config is not None:
        body["config"] = config
    return body


def in_order(chats: list[Chat], query: EventsQuery) -> list[Chat]:
    return sorted(chats, key=lambda chat: chat.start_time, reverse=not query.ascending_order)


def paging(query: EventsQuery, total_pages: int) -> dict[str, Any]:
    return {
        "page_number": query.page_number,
        "page_size": query.page_size,
        "total_pages": total_pages,
        "pagination_direction": "ASC" if query.ascending_order else "DESC",
    }


def audio_json(chat: Chat, user_id: str) -> dict[str, Any]:
    """`ReturnChatAudioReconstruction`."""
    return {
        "id": chat.id,
        "user_id": user_id,
        "status": "QUEUED" if chat.active else "COMPLETE",
        "filename": None,
        "modified_at": chat.end_ms or chat.start_ms,
        "signed_audio_url": None,
        "signed_url_expiration_timestamp_millis": None,
    }


async def list_chats(request: Request) -> Response:
    state: SimulatorState = request.app.state.simulator
    query = parse_query(request, ChatsQuery)
    chats = [
        chat
        for chat in state.all_chats()
        if (query.config_id is None or chat.config_id == query.config_id)
        and (query.status is None or rest_status(chat.status) == query.status)
    ]
    selected, total_pages = page(in_order(chats, query), query)
    return JSONResponse({**paging(query, total_pages), "chats_page": [chat_json(chat) for chat in selected]})


async def chat_audio(request: Request) -> Response:
    state: SimulatorState = request.app.state.simulator
    return JSONResponse(audio_json(state.get_chat(request.path_params["id"]), state.user_id))


routes = [
    Route("/v0/evi/chats", list_chats, methods=["GET"]),
    Route("/v0/evi/chats/{id}/audio", chat_audio, methods=["GET"]),
]
