"""httpcore's HTTP/1.1 connection pool, with each free connection handed to one waiting request, not all of them.

Whenever a request arrives or a response ends, httpcore's pool (1.0) walks its waiting requests and gives each the
first connection that is free. An HTTP/1.1 connection stays "free" until its request begins, so one connection that
came free went to every waiting request: all of them woke, one got it, and each of the others failed with
`ConnectionNotAvailable`, queued again and walked the whole queue once more. With 50 answers leaving one worker at
once (a burst of calls ending together) that walk was a third of the CPU of an answer's POST.

Here a connection that a request holds is not free for another, and the walk stops early where httpcore's would
assign nothing more. Which connections are opened, kept, closed and used is httpcore's rule otherwise.
"""

from __future__ import annotations

import ssl

import httpcore
from httpcore._async.connection_pool import AsyncConnectionPool
from httpcore._async.interfaces import AsyncConnectionInterface
from httpcore._models import Origin


class OneRequestPerConnectionPool(AsyncConnectionPool):
    """An HTTP/1.1-only pool (one request at a time on a connection), as the control-plane client uses it."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int | None,
        max_keepalive_connections: int | None,
        keepalive_expiry: float | None,
        network_backend: httpcore.AsyncNetworkBackend,
    ) -> None:
        super().__init__(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=network_backend,
        )

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        connections = self._connections
        closing: list[AsyncConnectionInterface] = []
        for existing in list(connections):  # httpcore's own clean-up
            if existing.is_closed():
                connections.remove(existing)
            elif existing.has_expired() or (existing.is_idle() and len(connections) > self._max_keepalive_connections):
                connections.remove(existing)
                closing.append(existing)

        held = {request.connection for request in self._requests if request.connection is not None}
        stuck: list[Origin] = []
        """Origins a waiting request got no connection for: nothing later in this walk frees one for them."""
        for request in self._requests:
            if request.connection is not None:
                continue
            origin = request.request.url.origin
            if origin in stuck:
                continue
            free = (c for c in connections if c not in held and c.can_handle_request(origin) and c.is_available())
            connection = next(free, None)
            if connection is None:
                if len(connections) >= self._max_connections:
                    idle = next((c for c in connections if c not in held and c.is_idle()), None)
                    if idle is None:
                        stuck.append(origin)
                        continue
                    connections.remove(idle)
                    closing.append(idle)
                connection = self.create_connection(origin)
                connections.append(connection)
            request.assign_to_connection(connection)
            held.add(connection)
        return closing

    async def _close_connections(self, closing: list[AsyncConnectionInterface]) -> None:
        if closing:  # httpcore opens a cancellation shield (two anyio lookups) even for none
            await super()._close_connections(closing)
