"""The Redis connection every process uses, with timeouts short enough to fail fast."""

from __future__ import annotations

from redis import Redis


def connect(url: str) -> Redis:
    return Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        health_check_interval=30,
    )
