"""Run several `evi-toolhost` processes as one: output prefixed by name, all stopped together.

Used by `evi-toolhost dev` and `demo`. Ctrl-C or SIGTERM stops every child (SIGTERM, then SIGKILL
after a grace period); if one child exits on its own, the others are stopped too. Children are
also asked to die with their parent (Linux PR_SET_PDEATHSIG), so even a killed supervisor leaves
nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

from service.child_processes import die_with_parent


@dataclass
class Child:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None
    reader: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    def __init__(self, env: Mapping[str, str], out: IO[str] | None = None, grace_seconds: float = 8.0) -> None:
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.out = out or sys.stdout
        self.grace_seconds = grace_seconds
        self.children: list[Child] = []
        self._lock = threading.Lock()
        self._width = 6

    def start(self, name: str, command: Sequence[str]) -> Child:
        """Start `evi-toolhost COMMAND...` as a child named `name`."""
        child = Child(name, [sys.executable, "-m", "evi_toolhost", *command])
        child.process = subprocess.Popen(
            child.args,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        self._width = max(self._width, len(name))
        child.reader = threading.Thread(target=self._pump, args=(child,), daemon=True)
        child.reader.start()
        self.children.append(child)
        return child

    def say(self, name: str, line: str) -> None:
        with self._lock:
            self.out.write(f"{name:<{self._width}} | {line}\n")
            self.out.flush()

    def _pump(self, child: Child) -> None:
        assert child.process is not None and child.process.stdout is not None
        for raw in child.process.stdout:
            self.say(child.name, raw.decode(errors="replace").rstrip("\n"))

    def exited(self) -> Child | None:
        """The first child that has stopped, if any."""
        return next((c for c in self.children if c.process is not None and c.process.poll() is not None), None)

    def wait(self) -> int:
        """Block until a child exits or the supervisor is signalled; then stop everything."""
        stop = threading.Event()

        def on_signal(signum: int, frame: object) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not stop.is_set():
                gone = self.exited()
                if gone is not None:
                    assert gone.process is not None
                    self.say(gone.name, f"exited with code {gone.process.returncode}; stopping the others")
                    return gone.process.returncode or 1
                stop.wait(0.2)
            return 0
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop(self) -> None:
        running = [c for c in self.children if c.process is not None and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(child.name, "did not stop in time; killing it")
                child.process.kill()
                child.process.wait()
        for child in self.children:
            if child.reader is not None:
                child.reader.join(timeout=2)
