"""What a process checks as it starts: Redis's durability, said once, and never for the embedded one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from redis import Redis

from evi_toolhost.embedded_redis import EmbeddedRedis
from evi_toolhost.startup import EMBEDDED_REDIS_VARIABLE, durability_problems
from tests.support.servers import service_env

NO_AOF = "Redis keeps no append-only file (appendonly no)"
EVICTS = "Redis evicts keys when full (maxmemory-policy allkeys-lru)"


def test_a_redis_without_an_append_only_file_is_named(redis_server: EmbeddedRedis) -> None:
    with Redis.from_url(redis_server.url) as redis:
        assert [problem.split(":")[0] for problem in durability_problems(redis)] == [NO_AOF]


def test_an_evicting_redis_is_named_and_a_durable_one_is_not(tmp_path: Path) -> None:
    with EmbeddedRedis(data_dir=tmp_path) as server, Redis.from_url(server.url) as redis:
        assert durability_problems(redis) == []
        redis.config_set("maxmemory-policy", "allkeys-lru")
        assert [problem.split(":")[0] for problem in durability_problems(redis)] == [EVICTS]


def worker_output(redis_url: str, **env: str) -> str:
    environment = {**os.environ, **service_env(redis_url), **env}
    done = subprocess.run(
        [sys.executable, "-m", "evi_toolhost", "worker", "--burst", "--pool-size", "1"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_the_worker_warns_once_at_start_unless_redis_is_the_embedded_one(redis_url: str) -> None:
    assert worker_output(redis_url, **{EMBEDDED_REDIS_VARIABLE: ""}).count(NO_AOF) == 1
    assert NO_AOF not in worker_output(redis_url)
