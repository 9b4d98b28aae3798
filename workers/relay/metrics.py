"""The relay's own metrics: the sockets it holds by state (read when scraped), sockets entering each state, and
the send requests it served by outcome. The relay's watchdog counts its answers in `workers.metrics`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from workers.relay.chat_socket import ChatSocket, SocketState
from workers.relay.inbox import Handler, SendRequest, SocketReply

if TYPE_CHECKING:
    from workers.relay.relay import Relay

SENDS = Counter("evi_relay_sends", "Send requests served by the relay, by outcome.", ["outcome"])
SOCKET_TRANSITIONS = Counter(
    "evi_relay_socket_transitions",
    "Sockets entering each state (reconnecting: a socket lost; socketless: a chat that refused its socket).",
    ["state"],
)
HELD_STATES = (SocketState.CONNECTING, SocketState.OPEN, SocketState.RECONNECTING, SocketState.SOCKETLESS)

_states: WeakKeyDictionary[ChatSocket, SocketState] = WeakKeyDictionary()


def socket_state(chat: ChatSocket, state: SocketState) -> None:
    """A socket of the relay entered `state`."""
    _states[chat] = state
    SOCKET_TRANSITIONS.labels(state.value).inc()


def counted(handle: Handler) -> Handler:
    """The relay's send handler, each reply counted."""

    async def handle_counted(request: SendRequest) -> SocketReply:
        reply = await handle(request)
        SENDS.labels(reply.value).inc()
        return reply

    return handle_counted


class RelaySockets(Collector):
    """`evi_relay_sockets`: the sockets this relay holds, by state, when scraped."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def collect(self) -> Iterator[GaugeMetricFamily]:
        held = dict.fromkeys((state.value for state in HELD_STATES), 0)
        for chat in self.relay.sockets.copy().values():
            state = _states.get(chat)
            if state is not None and state.value in held:
                held[state.value] += 1
        family = GaugeMetricFamily("evi_relay_sockets", "Sockets held by the relay, by state.", labels=["state"])
        for name, count in held.items():
            family.add_metric([name], count)
        yield family
