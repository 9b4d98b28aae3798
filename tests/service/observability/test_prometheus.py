"""The exposition every process shares: the pool's private multiprocess directory, the metrics port, and one
line (no traceback) when that port is taken."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from prometheus_client import REGISTRY

from service.observability.prometheus import (
    RELAY_METRICS_PORT,
    WORKER_METRICS_PORT,
    MetricsPortInUse,
    metrics_port,
    serve,
    shared_between_processes,
)


def test_the_port_is_the_flag_else_the_setting_else_the_default() -> None:
    assert metrics_port(None, None, WORKER_METRICS_PORT) == 9100
    assert metrics_port(None, None, RELAY_METRICS_PORT) == 9101
    assert metrics_port(None, 0, WORKER_METRICS_PORT) == 0
    assert metrics_port(7000, 0, WORKER_METRICS_PORT) == 7000


def test_a_taken_port_is_said_in_one_line_that_names_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsPortInUse) as caught:
            serve(port, REGISTRY, "evi-toolhost worker")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"evi-toolhost worker: METRICS_PORT {port} is already in use")
    assert "0 to turn" in message


def test_the_shared_directory_must_come_before_prometheus_client() -> None:
    assert "prometheus_client" in sys.modules  # this test process imported it
    with pytest.raises(RuntimeError, match="PROMETHEUS_MULTIPROC_DIR"), shared_between_processes():
        pass


def test_the_shared_directory_is_private_to_the_block_and_removed_after_it() -> None:
    code = """
import os, sys
from service.observability.prometheus import shared_between_processes
with shared_between_processes() as path:
    from prometheus_client import Counter, values
    Counter("made", "a counter").inc()
    print(type(values.ValueClass).__name__ if not isinstance(values.ValueClass, type) else values.ValueClass.__name__)
    print(sorted(os.listdir(path)))
print(os.path.exists(path), os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] != "MutexValue"
    assert out[1].startswith("['counter_") and out[2] == "False None"


def test_the_worker_command_loads_prometheus_client_only_once_its_directory_is_set() -> None:
    code = "import evi_toolhost.commands.worker, sys; print('prometheus_client' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
