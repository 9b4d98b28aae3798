"""Redis connections every process uses, with timeouts short enough to fail fast, and replies as text.

Their connections pack commands made only of text, bytes and numbers in one call to hiredis (`PlainArgumentPacker`).
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.utils import HIREDIS_AVAILABLE

if HIREDIS_AVAILABLE:
    import hiredis

_PLAIN = frozenset({str, bytes, int, float})


class PlainArgumentPacker:
    """redis-py's command packer, without its pass over the arguments in Python where none needs one.

    redis-py checks and encodes every argument in Python (str to UTF-8, a number to its repr) before it hands them to
    hiredis, which does the very same in C for exactly these types. A command of only str (RQ's status enums
    included), bytes, int and float with a one-word name goes to hiredis as it is: the same bytes, in a quarter of the
    time (a job's start, 16 commands: 70 µs against 19). Anything else (a bool, which redis-py refuses, an int enum,
    whose repr redis-py sends, a memoryview, a name with a space, which redis-py splits) takes redis-py's own packer,
    `fallback`.
    """

    def __init__(self, fallback: Any) -> None:
        self._fallback = fallback

    def pack(self, *args: Any) -> list[bytes]:
        name = args[0]
        if type(name) is not str or " " in name:
            return self._fallback.pack(*args)  # type: ignore[no-any-return]
        for arg in args:
            kind = type(arg)
            if kind not in _PLAIN and not (isinstance(arg, str) and kind.encode is str.encode):
                return self._fallback.pack(*args)  # type: ignore[no-any-return]
        return [hiredis.pack_command(args)]


_plain_packing: dict[type[Any], type[Any]] = {}


def with_plain_packer(connection_class: type[Any]) -> type[Any]:
    """`connection_class` (the one the URL asks for: TCP, TLS or a Unix socket), its commands packed by
    `PlainArgumentPacker`. A pool of it carries it on: RQ's worker pool builds each worker's pool from that class."""
    if connection_class in _plain_packing:
        return _plain_packing[connection_class]

    class PlainPacking(connection_class):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            packer = getattr(self, "_command_packer", None)
            encoder = getattr(self, "encoder", None)
            utf8 = encoder is not None and (encoder.encoding, encoder.encoding_errors) == ("utf-8", "strict")
            if HIREDIS_AVAILABLE and packer is not None and utf8:  # hiredis encodes text as strict UTF-8
                self._command_packer = PlainArgumentPacker(packer)

    PlainPacking.__name__ = PlainPacking.__qualname__ = f"PlainPacking{connection_class.__name__}"
    _plain_packing[connection_class] = PlainPacking
    return PlainPacking


def connect(url: str) -> Redis:
    client = Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0, health_check_interval=30)
    pool = client.connection_pool
    pool.connection_class = with_plain_packer(pool.connection_class)
    return client


REQUEST_TIMEOUT_SECONDS = 2.0
"""How long a web request waits for Redis in all (`asyncio.timeout` around its exchange)."""


def connect_async(url: str, *, socket_timeout: float | None = 5.0) -> AsyncRedis:
    """A client for one event loop (its connections are made on the loop that first uses it).

    `socket_timeout=None`: no timer per command (redis-py starts a task for each one it times), for a caller that
    bounds its whole exchange with `asyncio.timeout` instead, as the web tier does."""
    client = AsyncRedis.from_url(
        url, socket_connect_timeout=1.0, socket_timeout=socket_timeout, health_check_interval=30
    )
    pool = client.connection_pool
    pool.connection_class = with_plain_packer(pool.connection_class)
    return client


def text(value: object) -> str | None:
    """A Redis reply as text: redis-py types them `bytes | str` (it depends on `decode_responses`)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
