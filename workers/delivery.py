"""Where a message for a chat goes. Today: the HTTP control plane.

The relay issue extends `deliver` (and only it): if the relay holds a live socket for this chat, send
there first and fall back to HTTP when the relay has not confirmed within `RELAY_CONFIRM_TIMEOUT_MS`
(≤ 200 ms), returning "socket" or "http".
"""

from __future__ import annotations

from typing import Literal

from service.evi.messages import PublishMessage
from workers.runtime import get_runtime

Transport = Literal["http", "socket"]


async def deliver(chat_id: str, message: PublishMessage, *, deadline: float | None = None) -> Transport:
    """Send `message` to the chat; raise `Undeliverable` if it cannot be. Returns the transport used."""
    runtime = get_runtime()
    await runtime.control_plane.send(chat_id, message, deadline=deadline)
    return "http"
