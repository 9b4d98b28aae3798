"""Checks a process makes before it starts serving, each failing with one line and exit code 2."""

from __future__ import annotations

import os
import sys

from redis import Redis
from redis.exceptions import RedisError


def where(redis: Redis) -> str:
    """Host, port and db of the connection: never the URL, which may carry a password."""
    kwargs = redis.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"


def redis_answers(redis: Redis, command: str) -> bool:
    """True when Redis answers; otherwise says so on stderr, in one line naming `command`."""
    try:
        redis.ping()
    except RedisError as exc:
        print(
            f"evi-toolhost {command}: Redis at {where(redis)} does not answer ({type(exc).__name__})", file=sys.stderr
        )
        return False
    return True


def import_from_working_directory() -> None:
    """Like uvicorn and rq: handler modules in the working directory import even from an installed script."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
