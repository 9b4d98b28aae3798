"""The clients' command packing: byte for byte what redis-py packs, for any arguments, and the same refusals; and
both clients, on a real Redis, use it."""

from __future__ import annotations

import asyncio
import enum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.connection import Connection
from redis.exceptions import DataError
from rq.connections import parse_connection

from service.redis_client import PlainArgumentPacker, connect, connect_async

REDIS_PY = Connection()._command_packer
"""redis-py's own packer, as a connection of its builds it (hiredis, redis-py's encoder)."""
OURS = PlainArgumentPacker(REDIS_PY)


class Status(str, enum.Enum):  # noqa: UP042  (RQ's JobStatus is made so)
    QUEUED = "queued"
    DONE = "dön€"


class Level(enum.IntEnum):
    HIGH = 2


class Shouting(str):
    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return str.upper(self).encode(encoding, errors)


ODD_TYPES: list[object] = [Status.QUEUED, Status.DONE, Level.HIGH, Shouting("quiet")]
arguments = st.one_of(
    st.text(),
    st.binary(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.binary().map(memoryview),
    st.binary().map(bytearray),
    st.sampled_from(ODD_TYPES),
)
names = st.sampled_from(["SET", "HSET", "EVALSHA", "CLIENT SETNAME", "set", b"GET", "MULTI"])


def packed(packer: Any, args: tuple[Any, ...]) -> bytes | type[Exception]:
    try:
        return b"".join(bytes(chunk) for chunk in packer.pack(*args))
    except Exception as exc:
        return type(exc)


@settings(max_examples=3000, deadline=None)
@given(names, st.lists(arguments, max_size=12))
def test_every_command_packs_to_what_redis_py_packs(name: str | bytes, args: list[Any]) -> None:
    command = (name, *args)
    assert packed(OURS, command) == packed(REDIS_PY, command)


@pytest.mark.parametrize(
    "value",
    [2**70, -(2**63), 0.1, -0.0, 1e300, 5e-324, float("inf"), "é日本", "", b"\x00\xff", "x" * 10_000, *ODD_TYPES],
)
def test_edge_values_pack_alike(value: object) -> None:
    assert packed(OURS, ("HSET", "key", "field", value)) == packed(REDIS_PY, ("HSET", "key", "field", value))


def test_what_redis_py_refuses_is_refused() -> None:
    with pytest.raises(DataError):
        OURS.pack("SET", "key", True)
    with pytest.raises(DataError):
        OURS.pack("SET", "key", None)
    with pytest.raises(UnicodeEncodeError):
        OURS.pack("SET", "key", "\ud800")


def test_both_clients_pack_with_it_on_a_real_redis(redis_url: str) -> None:
    client = connect(redis_url)
    try:
        with client.pipeline() as pipeline:
            pipeline.hset("packing", mapping={"text": "é", "number": 1.5, "bytes": b"\x00"})
            pipeline.hgetall("packing")
            _, stored = pipeline.execute()
        assert stored == {b"text": "é".encode(), b"number": b"1.5", b"bytes": b"\x00"}
        connection = client.connection_pool.get_connection()
        assert isinstance(connection._command_packer, PlainArgumentPacker)
        client.connection_pool.release(connection)
        # RQ's worker pool builds each worker's connections from the client's connection class: they pack so too.
        _, connection_class, kwargs = parse_connection(client)
        assert isinstance(connection_class(**kwargs)._command_packer, PlainArgumentPacker)
    finally:
        client.close()

    async def on_the_loop() -> tuple[bytes | None, object]:
        aclient = connect_async(redis_url)
        try:
            await aclient.set("packing:async", 7)
            connection = await aclient.connection_pool.get_connection()
            packer = connection._command_packer
            await aclient.connection_pool.release(connection)
            return await aclient.get("packing:async"), packer
        finally:
            await aclient.aclose()

    value, packer = asyncio.run(on_the_loop())
    assert value == b"7"
    assert isinstance(packer, PlainArgumentPacker)
