"""A trivial RQ job: the floor the worker-throughput benchmark measures our tool-call job against."""

from __future__ import annotations

from typing import Any


def noop(event: dict[str, Any]) -> str:
    """Takes the same argument as `workers.jobs.run_tool_call` and does nothing with it."""
    return "ok"
