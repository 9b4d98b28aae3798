"""`worker` and `relay` whose metrics port is taken: one line naming it and exit 2, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import TEST_API_KEY


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize("command", ["worker", "relay"])
def test_a_taken_metrics_port_stops_the_process_with_one_line(command: str, taken_port: int) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "HUME_API_KEY": TEST_API_KEY,
        "REDIS_URL": "redis://127.0.0.1:1/0",  # never reached: the port is checked first
        "METRICS_PORT": str(taken_port),
    }
    done = subprocess.run(
        [sys.executable, "-m", "evi_toolhost", command], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line == (
        f"evi-toolhost {command}: METRICS_PORT {taken_port} is already in use; set METRICS_PORT to a free port, or 0 "
        "to turn the metrics endpoint off"
    )
