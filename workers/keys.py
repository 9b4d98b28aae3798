"""Every Redis key the worker tier writes, in one place. The web tier's claim keys live in `service.dispatch`."""

from __future__ import annotations

PREFIX = "evi"


def run_claim(tool_call_id: str) -> str:
    """`SET NX` by the job that runs the handler: at most one run per tool call."""
    return f"{PREFIX}:run:{tool_call_id}"


def answered(tool_call_id: str) -> str:
    """`SET NX` right before an answer is sent: at most one answer per tool call."""
    return f"{PREFIX}:answered:{tool_call_id}"


def call_record(tool_call_id: str) -> str:
    """Hash: what happened to one tool call (status, answer, timestamps)."""
    return f"{PREFIX}:call:{tool_call_id}"


def chat_record(chat_id: str) -> str:
    """Hash: one chat's ids, times, status and hook failures."""
    return f"{PREFIX}:chat:{chat_id}"


def transcript(chat_id: str) -> str:
    """String: the chat's transcript as a JSON list of lines, stored when the chat ends."""
    return f"{PREFIX}:transcript:{chat_id}"
