"""The relay's metrics: the sockets it holds by state when scraped, and each send request's outcome."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from prometheus_client import REGISTRY

from workers.relay import metrics
from workers.relay.chat_socket import ChatSocket, SocketState
from workers.relay.inbox import SendRequest, SocketReply


def chat_socket(chat_id: str) -> ChatSocket:
    async def nothing(*args: Any) -> Any:
        return True

    return ChatSocket(chat_id, "ws://127.0.0.1:1", "key", on_message=nothing, on_state=nothing, still_wanted=nothing)


def test_held_sockets_are_counted_by_their_latest_state() -> None:
    sockets = {name: chat_socket(name) for name in ("a", "b", "c")}
    metrics.socket_state(sockets["a"], SocketState.CONNECTING)
    metrics.socket_state(sockets["a"], SocketState.OPEN)
    metrics.socket_state(sockets["b"], SocketState.RECONNECTING)
    metrics.socket_state(sockets["c"], SocketState.CLOSED)
    gone = chat_socket("gone")
    metrics.socket_state(gone, SocketState.OPEN)  # not held any more
    relay: Any = SimpleNamespace(sockets=sockets)
    (family,) = metrics.RelaySockets(relay).collect()
    assert {sample.labels["state"]: sample.value for sample in family.samples} == {
        "connecting": 0,
        "open": 1,
        "reconnecting": 1,
        "socketless": 0,
    }


def test_each_send_request_is_counted_by_its_reply() -> None:
    replies = iter([SocketReply.SENT, SocketReply.NO_SOCKET, SocketReply.SENT])

    async def handle(request: SendRequest) -> SocketReply:
        return next(replies)

    def sent(outcome: str) -> float:
        return REGISTRY.get_sample_value("evi_relay_sends_total", {"outcome": outcome}) or 0.0

    before = sent("sent"), sent("no_socket")
    request = SendRequest("r", "chat", {}, "claim", 60, 0)
    counted = metrics.counted(handle)

    async def three() -> list[SocketReply]:
        return [await counted(request) for _ in range(3)]

    assert asyncio.run(three()) == [SocketReply.SENT, SocketReply.NO_SOCKET, SocketReply.SENT]
    assert (sent("sent"), sent("no_socket")) == (before[0] + 2, before[1] + 1)
