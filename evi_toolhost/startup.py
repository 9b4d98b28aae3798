"""Checks a process makes before it starts serving, each failing with one line and exit code 2."""

from __future__ import annotations

import logging
import os
import sys

from redis import Redis
from redis.exceptions import RedisError, ResponseError

from service.observability.prometheus import MetricsPortInUse, scrape_registry, serve
from service.redis_client import text


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


EMBEDDED_REDIS_VARIABLE = "EVI_TOOLHOST_EMBEDDED_REDIS"
"""Set by `dev` and `demo` for the throwaway Redis they embed, which needs no durability."""


def durability_problems(redis: Redis) -> list[str]:
    """What this Redis lacks to keep acknowledged calls through a crash or a full memory, one line each."""
    try:
        config = {**redis.config_get("maxmemory-policy"), **redis.config_get("append*")}
    except ResponseError:
        return [
            "cannot read Redis's settings (CONFIG GET is refused here): make sure it keeps an append-only file "
            "(appendonly yes, appendfsync everysec or always) and never evicts keys (maxmemory-policy noeviction)"
        ]
    settings = {str(text(key)): str(text(value)) for key, value in config.items()}
    problems = []
    policy = settings.get("maxmemory-policy", "noeviction")
    if policy != "noeviction":
        problems.append(
            f"Redis evicts keys when full (maxmemory-policy {policy}): queued calls, claims and deadlines can "
            "vanish; set maxmemory-policy noeviction"
        )
    if settings.get("appendonly") != "yes":
        problems.append(
            "Redis keeps no append-only file (appendonly no): a Redis crash loses calls already acknowledged "
            "to Hume; set appendonly yes with appendfsync everysec (or always)"
        )
    elif settings.get("appendfsync") == "no":
        problems.append("Redis leaves syncing its append-only file to the OS (appendfsync no): use everysec or always")
    return problems


def warn_about_durability(redis: Redis, log: logging.Logger) -> None:
    """Log each durability problem once, at start (not for the embedded Redis of `dev` and `demo`)."""
    if os.environ.get(EMBEDDED_REDIS_VARIABLE) == "1":
        return
    try:
        problems = durability_problems(redis)
    except RedisError:
        return
    for problem in problems:
        log.warning(problem)


def metrics_served(port: int, command: str) -> bool:
    """Serve this process's metrics on `port` (0: off). False, after one line on stderr, when the port is taken."""
    if not port:
        return True
    try:
        serve(port, scrape_registry(), f"evi-toolhost {command}")
    except MetricsPortInUse as exc:
        print(exc, file=sys.stderr)
        return False
    return True
