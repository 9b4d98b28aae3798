"""The control-plane client's streams against a real socket server on 127.0.0.1: idle connections are reused while
the server keeps them, and one the server closed while idle is never used again."""

from __future__ import annotations

import asyncio
import socket

from service.evi.control_plane import make_http_client
from service.evi.http_streams import socket_is_readable

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"


def test_an_idle_socket_is_not_readable_until_its_peer_closes_it() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        assert not socket_is_readable(ours)
        theirs.close()
        assert socket_is_readable(ours)
    assert socket_is_readable(None)


async def serve(close_after_each: bool, connections: list[int]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                fields = dict(line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)
                length = int(next(value for name, value in fields.items() if name.lower() == b"content-length"))
                await reader.readexactly(length)
                writer.write(RESPONSE)
                await writer.drain()
                if close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def post_five_times(close_after_each: bool) -> tuple[list[int], list[int]]:
    async def run() -> tuple[list[int], list[int]]:
        connections: list[int] = []
        server = await serve(close_after_each, connections)
        port = server.sockets[0].getsockname()[1]
        statuses = []
        async with make_http_client() as client:
            for _ in range(5):
                response = await client.post(f"http://127.0.0.1:{port}/v0/evi/chat/c/send", json={"type": "x"})
                statuses.append(response.status_code)
                await asyncio.sleep(0.05)  # the server's close (when it closes) reaches the idle connection
        server.close()
        await server.wait_closed()
        return statuses, connections

    return asyncio.run(run())


def test_five_sends_share_one_kept_alive_connection() -> None:
    statuses, connections = post_five_times(close_after_each=False)
    assert statuses == [200] * 5
    assert len(connections) == 1


def test_a_connection_the_server_closed_while_idle_is_replaced_not_reused() -> None:
    statuses, connections = post_five_times(close_after_each=True)
    assert statuses == [200] * 5  # a reused closed connection would have raised RemoteProtocolError
    assert len(connections) == 5


def test_bursts_of_concurrent_sends_reuse_the_connections_they_opened() -> None:
    # httpcore closes an idle connection whenever the pool holds more connections (idle or not) than its keep-alive
    # limit: with that limit below the pool size, every burst closed the surplus and opened it again (against Hume,
    # a TLS handshake per churned connection).
    async def run() -> tuple[list[int], int]:
        connections: list[int] = []
        server = await serve(False, connections)
        port = server.sockets[0].getsockname()[1]
        statuses: list[int] = []
        async with make_http_client() as client:
            limit = client._transport._pool._max_connections  # type: ignore[attr-defined]
            for _ in range(3):
                responses = await asyncio.gather(
                    *(client.post(f"http://127.0.0.1:{port}/v0/evi/chat/c/send", json={"n": i}) for i in range(50))
                )
                statuses += [response.status_code for response in responses]
        server.close()
        await server.wait_closed()
        return statuses, len(connections) - limit

    statuses, opened_beyond_the_pool = asyncio.run(run())
    assert statuses == [200] * 150
    assert opened_beyond_the_pool <= 0
