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


# --- the live-socket relay ------------------------------------------------------------------------------

ACTIVE_CHATS = f"{PREFIX}:chats:active"
"""Sorted set: chat id -> start time (ms). Added on chat_started, removed on chat_ended."""

NEW_CHAT_CHANNEL = f"{PREFIX}:relay:new-chat"
"""Pub/sub: a chat id, published when a chat starts, so relays connect without waiting for a scan."""

RELAY_ALIVE_PATTERN = f"{PREFIX}:relay:alive:*"


def lease(chat_id: str) -> str:
    """String: the id of the relay that holds the chat's socket; expires unless that relay renews it."""
    return f"{PREFIX}:relay:lease:{chat_id}"


def relay_alive(relay_id: str) -> str:
    """String with a TTL: the relay is running."""
    return f"{PREFIX}:relay:alive:{relay_id}"


def socket_state(chat_id: str) -> str:
    """Hash: state (connecting|open|reconnecting|socketless|closed), relay, since_ms, connects, sent."""
    return f"{PREFIX}:relay:socket:{chat_id}"


def relay_inbox(relay_id: str) -> str:
    """List: send requests for the chats this relay holds."""
    return f"{PREFIX}:relay:inbox:{relay_id}"


def relay_ack(request_id: str) -> str:
    """List: the relay's single reply to one send request."""
    return f"{PREFIX}:relay:ack:{request_id}"


def conversation(chat_id: str) -> str:
    """List: the chat's user and assistant messages seen on the socket, oldest first, capped."""
    return f"{PREFIX}:conversation:{chat_id}"


def sent_claim(request_id: str) -> str:
    """`SET NX` by whichever path sends a non-answer message (socket or HTTP fallback) first."""
    return f"{PREFIX}:sent:{request_id}"
