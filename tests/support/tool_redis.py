"""The Redis a test tool module leaves its traces in: the one the worker running it uses (REDIS_URL)."""

from __future__ import annotations

import os
from functools import cache

from redis import Redis


@cache
def redis() -> Redis:
    return Redis.from_url(os.environ["REDIS_URL"])
