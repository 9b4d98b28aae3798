"""The control-plane client's connection pool against real socket servers on 127.0.0.1: more requests than
connections are all answered, a connection goes to one waiting request at a time, and at its limit the pool still
makes room for another origin by closing an idle connection, as httpcore's does."""

from __future__ import annotations

import asyncio

import httpcore
import pytest
from httpcore._async.connection_pool import AsyncPoolRequest

from service.evi.control_plane import shared_ssl_context
from service.evi.http_pool import OneRequestPerConnectionPool
from service.evi.http_streams import SocketKeepingBackend

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"


class Server:
    """Answers every request after `delay` seconds (its service time), counting connections."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.closed = asyncio.Event()
        """Set whenever one of its connections closes."""
        self.none_open = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.none_open.clear()
        self.most_open = max(self.most_open, self.open)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                await asyncio.sleep(self.delay)
                writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            self.closed.set()
            if self.open == 0:
                self.none_open.set()
            writer.close()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/v0/evi/chat/c/send"

    async def stop(self) -> None:
        """Once the client closed every connection (each handler has ended)."""
        await asyncio.wait_for(self.none_open.wait(), timeout=5)
        self._server.close()
        await self._server.wait_closed()


def pool(max_connections: int) -> OneRequestPerConnectionPool:
    return OneRequestPerConnectionPool(
        ssl_context=shared_ssl_context(),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=60.0,
        network_backend=SocketKeepingBackend(),
    )


async def post(connections: httpcore.AsyncConnectionPool, url: str) -> int:
    response = await connections.request("POST", url, content=b"{}", headers={"Content-Type": "application/json"})
    return response.status


def test_more_requests_than_connections_each_get_a_connection_no_other_request_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handed_a_held_connection: list[AsyncPoolRequest] = []
    clear = AsyncPoolRequest.clear_connection

    def cleared(self: AsyncPoolRequest) -> None:  # httpcore's retry when the connection it was given is busy
        handed_a_held_connection.append(self)
        clear(self)

    monkeypatch.setattr(AsyncPoolRequest, "clear_connection", cleared)

    async def run() -> tuple[list[int], Server]:
        server = Server(delay=0.002)
        url = await server.start()
        async with pool(max_connections=4) as connections:
            statuses = await asyncio.gather(*(post(connections, url) for _ in range(60)))
        await server.stop()
        return statuses, server

    statuses, server = asyncio.run(run())
    assert statuses == [200] * 60
    assert server.connections == 4  # opened once each, then kept alive
    assert server.most_open <= 4
    assert handed_a_held_connection == []


def test_at_its_limit_the_pool_closes_an_idle_connection_for_another_origin() -> None:
    async def run() -> tuple[int, int, int, int]:
        first, second = Server(delay=0.0), Server(delay=0.0)
        first_url, second_url = await first.start(), await second.start()
        async with pool(max_connections=1) as connections:
            assert await post(connections, first_url) == 200
            assert await post(connections, second_url) == 200
            await asyncio.wait_for(first.closed.wait(), timeout=5)
            assert await post(connections, second_url) == 200
            kept = len(connections.connections)
        await first.stop()
        await second.stop()
        return first.connections, first.open, second.connections, kept

    first_connections, first_open, second_connections, kept = asyncio.run(run())
    assert (first_connections, first_open) == (1, 0)  # the idle one to the first origin was closed
    assert second_connections == 1  # and the second origin's connection kept for the next request
    assert kept == 1
