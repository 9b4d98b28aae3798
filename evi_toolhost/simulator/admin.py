"""The simulator's own API under `/_sim` (API key required), so a player or test in another process
can drive chats and see what the control plane received.

- `POST /_sim/chats`: start a chat → 201, the chat record
- `GET  /_sim/chats/{id}`: the chat record with its counters
- `POST /_sim/chats/{id}/events`: EVI says something: `user_message`, `assistant_message` (each with optional
  `emotions`, prosody scores by expression), `assistant_end`, `user_interruption` (the user spoke over EVI) or
  `tool_call` (`broadcast: false` keeps a tool call off the sockets) → 201
- `POST /_sim/chats/{id}/end`: end the chat (`status`, default USER_ENDED); its sockets are closed
- `GET  /_sim/chats/{id}/received`: control-plane messages received, `{"received": [...]}`; with
  `tool_call_id`, only that call's answers, waiting up to `timeout` seconds for the first one; with `after=N`,
  every message once there are more than N, waiting up to `timeout` seconds
- `POST /_sim/chats/{id}/fail_next_sends`: `{"statuses": [503, ...], "retry_after": "1"}`, see `fail_next_sends`
- `POST /_sim/chats/{id}/fail_sends_for`: `{"status": 500, "seconds": 3}`: every send fails for that long
- `GET  /_sim/stats`: connections seen
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evi_toolhost.simulator.auth import require_api_key
from evi_toolhost.simulator.emotions import unknown_expressions
from evi_toolhost.simulator.errors import InvalidRequest, read_json, validate_body
from evi_toolhost.simulator.paging import parse_query
from evi_toolhost.simulator.script import ChatSpec
from evi_toolhost.simulator.state import SimulatorState
from service.evi.messages import ToolType, dump_message
from service.evi.webhooks import ChatStatus


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _known_expressions(scores: dict[str, float] | None) -> dict[str, float] | None:
    unknown = unknown_expressions(scores or {})
    if unknown:
        raise ValueError(f"not one of Hume's 48 expressions: {', '.join(unknown)}")
    return scores


Emotions = Annotated[dict[str, Annotated[float, Field(ge=0, le=1)]] | None, AfterValidator(_known_expressions)]


class UserMessageEvent(_Strict):
    type: Literal["user_message"]
    text: str
    emotions: Emotions = None
    """Prosody scores by expression name; unset, made up from the text."""


class AssistantMessageEvent(_Strict):
    type: Literal["assistant_message"]
    text: str
    emotions: Emotions = None


class AssistantEndEvent(_Strict):
    type: Literal["assistant_end"]


class UserInterruptionEvent(_Strict):
    type: Literal["user_interruption"]


class ToolCallEvent(_Strict):
    type: Literal["tool_call"]
    name: str = Field(min_length=1)
    parameters: str = Field(description="the arguments as a JSON string, as EVI sends them")
    tool_call_id: str | None = None
    tool_type: ToolType = ToolType.FUNCTION
    response_required: bool | None = None
    broadcast: bool = True


AdminEvent = Annotated[
    UserMessageEvent | AssistantMessageEvent | AssistantEndEvent | UserInterruptionEvent | ToolCallEvent,
    Field(discriminator="type"),
]
admin_event_adapter: TypeAdapter[AdminEvent] = TypeAdapter(AdminEvent)


class EndChat(_Strict):
    status: ChatStatus = ChatStatus.USER_ENDED


class FailNextSends(_Strict):
    statuses: list[int] = Field(min_length=1)
    retry_after: str | None = None
    """A `Retry-After` header sent with each of these failures."""


class FailSendsFor(_Strict):
    status: int
    seconds: float = Field(gt=0, le=300)
    retry_after: str | None = None


class ReceivedQuery(BaseModel):
    tool_call_id: str | None = None
    after: int | None = Field(default=None, ge=0)
    timeout: float = Field(default=0.0, ge=0, le=300)


def _state(request: Request) -> SimulatorState:
    require_api_key(request)
    state: SimulatorState = request.app.state.simulator
    return state


async def _optional_json(request: Request) -> Any:
    return await read_json(request) if await request.body() else {}


async def start_chat(request: Request) -> Response:
    state = _state(request)
    body = validate_body(ChatSpec, await _optional_json(request))
    chat = state.start_chat(**body.model_dump())
    return JSONResponse(state.describe(chat.id), status_code=201)


async def get_chat(request: Request) -> Response:
    return JSONResponse(_state(request).describe(request.path_params["id"]))


async def add_event(request: Request) -> Response:
    state = _state(request)
    chat_id = request.path_params["id"]
    state.get_chat(chat_id)
    try:
        event = admin_event_adapter.validate_python(await read_json(request))
    except ValidationError as exc:
        raise InvalidRequest.from_pydantic(exc, "body") from None
    answer: dict[str, Any] = {}
    if isinstance(event, UserMessageEvent):
        answer["event"] = state.add_user_message(chat_id, event.text, emotions=event.emotions).to_json()
    elif isinstance(event, AssistantMessageEvent):
        answer["event"] = state.add_assistant_message(chat_id, event.text, emotions=event.emotions).to_json()
    elif isinstance(event, AssistantEndEvent):
        state.add_assistant_end(chat_id)
    elif isinstance(event, UserInterruptionEvent):
        answer["event"] = state.add_user_interruption(chat_id).to_json()
    else:
        call = state.add_tool_call(
            chat_id,
            name=event.name,
            parameters=event.parameters,
            tool_call_id=event.tool_call_id,
            tool_type=event.tool_type,
            response_required=event.response_required,
            broadcast=event.broadcast,
        )
        answer["tool_call"] = dump_message(call)
    return JSONResponse(answer, status_code=201)


async def end_chat(request: Request) -> Response:
    state = _state(request)
    chat_id = request.path_params["id"]
    state.get_chat(chat_id)
    body = validate_body(EndChat, await _optional_json(request))
    state.end_chat(chat_id, body.status)
    return JSONResponse(state.describe(chat_id))


async def received(request: Request) -> Response:
    state = _state(request)
    chat_id = request.path_params["id"]
    state.get_chat(chat_id)
    query = parse_query(request, ReceivedQuery)
    if query.tool_call_id is None and query.after is not None:
        found = await state.wait_for_received(chat_id, query.after, query.timeout)
        return JSONResponse({"received": [received.to_json() for received in found]})
    if query.tool_call_id is None:
        return JSONResponse({"received": state.received_json(chat_id)})
    answers = await state.wait_for_answers(query.tool_call_id, query.timeout)
    return JSONResponse({"received": [answer.to_json() for answer in answers if answer.chat_id == chat_id]})


async def fail_next_sends(request: Request) -> Response:
    state = _state(request)
    body = validate_body(FailNextSends, await read_json(request))
    state.fail_next_sends(request.path_params["id"], body.statuses)
    if body.retry_after is not None:
        state.retry_after[request.path_params["id"]] = body.retry_after
    return JSONResponse({"queued": body.statuses})


async def fail_sends_for(request: Request) -> Response:
    state = _state(request)
    body = validate_body(FailSendsFor, await read_json(request))
    state.fail_sends_for(request.path_params["id"], body.status, body.seconds)
    if body.retry_after is not None:
        state.retry_after[request.path_params["id"]] = body.retry_after
    return JSONResponse({"failing": body.status, "seconds": body.seconds})


async def stats(request: Request) -> Response:
    state = _state(request)
    return JSONResponse(
        {"connections_opened": state.connections_opened, "distinct_http_clients": state.distinct_http_clients()}
    )


routes = [
    Route("/_sim/chats", start_chat, methods=["POST"]),
    Route("/_sim/chats/{id}", get_chat, methods=["GET"]),
    Route("/_sim/chats/{id}/events", add_event, methods=["POST"]),
    Route("/_sim/chats/{id}/end", end_chat, methods=["POST"]),
    Route("/_sim/chats/{id}/received", received, methods=["GET"]),
    Route("/_sim/chats/{id}/fail_next_sends", fail_next_sends, methods=["POST"]),
    Route("/_sim/chats/{id}/fail_sends_for", fail_sends_for, methods=["POST"]),
    Route("/_sim/stats", stats, methods=["GET"]),
]
