"""Real MCP servers for tests, made with the MCP SDK and run as their own processes: `stdio` entries for
`MCP_SERVERS`, and `HttpServer` for one on a streamable HTTP port (started and stopped by its pid)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

from evi_toolhost.embedded_redis import free_port
from tests.support.servers import wait_for_http

HERE = Path(__file__).resolve().parent
WEATHER = HERE / "weather.py"
ODD_SCHEMAS = HERE / "odd_schemas.py"
SILENT = f"{shlex.quote(sys.executable)} -c 'import sys; sys.stdin.read()'"
"""A command that starts and never answers (it ends when its stdin closes)."""


def stdio(script: Path, *args: str) -> str:
    """The `stdio:` target of `MCP_SERVERS` that runs `script` with this interpreter."""
    return "stdio:" + shlex.join([sys.executable, str(script), *args])


class HttpServer:
    """`weather.py --http PORT` as a subprocess; `restart()` is a new process on the same port."""

    def __init__(self, script: Path = WEATHER) -> None:
        self.script = script
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> HttpServer:
        command = [sys.executable, str(self.script), "--http", str(self.port)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_http(self.url, process=self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> HttpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
