"""One chat's control-plane socket: connect, keep alive, reconnect with backoff, stop when the chat ends."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidStatus,
    WebSocketException,
)

log = logging.getLogger("evi_toolhost.relay")

POLICY_VIOLATION = 1008
NORMAL_CLOSURE = 1000
"""How EVI closes a chat's socket when the chat ends."""
PING_INTERVAL_SECONDS = 10.0
OPEN_TIMEOUT_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 5.0


class SocketState(StrEnum):
    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    SOCKETLESS = "socketless"
    CLOSED = "closed"


OnMessage = Callable[["ChatSocket", dict[str, Any]], Awaitable[None]]
OnState = Callable[["ChatSocket", SocketState], Awaitable[None]]
StillWanted = Callable[[], Awaitable[bool]]


class ChatSocket:
    def __init__(
        self,
        chat_id: str,
        url: str,
        api_key: str,
        on_message: OnMessage,
        on_state: OnState,
        still_wanted: StillWanted,
    ) -> None:
        self.chat_id = chat_id
        self.url = url
        self._api_key = api_key
        self._on_message = on_message
        self._on_state = on_state
        self._still_wanted = still_wanted
        self._ws: ClientConnection | None = None
        self.connects = 0
        self.ended_by_evi = False
        """EVI closed the socket normally (1000): the chat ended."""

    @property
    def is_open(self) -> bool:
        return self._ws is not None

    async def send(self, message: dict[str, Any]) -> None:
        """Send on the open socket; raises ConnectionError if it is not open."""
        ws = self._ws
        if ws is None:
            raise ConnectionError(f"no open socket for chat {self.chat_id}")
        try:
            await ws.send(json.dumps(message))
        except ConnectionClosed as exc:
            raise ConnectionError(str(exc)) from exc

    async def run(self) -> SocketState:
        """Hold the socket until EVI closes it, the chat is refused or ends, or the task is cancelled."""
        backoff = 0.1
        await self._on_state(self, SocketState.CONNECTING)
        while True:
            try:
                async with connect(
                    self.url,
                    additional_headers={"X-Hume-Api-Key": self._api_key},
                    open_timeout=OPEN_TIMEOUT_SECONDS,
                    ping_interval=PING_INTERVAL_SECONDS,
                    ping_timeout=PING_INTERVAL_SECONDS,
                    proxy=None,
                ) as ws:
                    self.connects += 1
                    backoff = 0.1
                    await self._read(ws)
                    self.ended_by_evi = ws.close_code == NORMAL_CLOSURE
                self._ws = None
                await self._on_state(self, SocketState.CLOSED)
                return SocketState.CLOSED
            except InvalidStatus as exc:
                return await self._refused(f"HTTP {exc.response.status_code}")
            except ConnectionClosedError as exc:
                if exc.rcvd is not None and exc.rcvd.code == POLICY_VIOLATION and self._ws is None:
                    return await self._refused(f"closed {exc.rcvd.code}: {exc.rcvd.reason}")
                backoff = await self._pause_before_reconnect(exc, backoff)
                if backoff < 0:
                    await self._on_state(self, SocketState.CLOSED)
                    return SocketState.CLOSED
            except ConnectionClosedOK as exc:
                self.ended_by_evi = exc.rcvd is not None and exc.rcvd.code == NORMAL_CLOSURE
                self._ws = None
                await self._on_state(self, SocketState.CLOSED)
                return SocketState.CLOSED
            except (OSError, TimeoutError, WebSocketException) as exc:
                backoff = await self._pause_before_reconnect(exc, backoff)
                if backoff < 0:
                    await self._on_state(self, SocketState.CLOSED)
                    return SocketState.CLOSED
            finally:
                self._ws = None

    async def _refused(self, why: str) -> SocketState:
        log.info("chat %s refused its socket (%s): answers go by HTTP", self.chat_id, why)
        await self._on_state(self, SocketState.SOCKETLESS)
        return SocketState.SOCKETLESS

    async def _pause_before_reconnect(self, exc: Exception, backoff: float) -> float:
        """Wait a jittered backoff and return the next one, or -1 when the chat is no longer ours to hold."""
        self._ws = None
        if not await self._still_wanted():
            return -1
        await self._on_state(self, SocketState.RECONNECTING)
        delay = random.uniform(0, backoff)
        log.warning("chat %s socket lost (%s); reconnecting in %.2f s", self.chat_id, type(exc).__name__, delay)
        await asyncio.sleep(delay)
        return min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _read(self, ws: ClientConnection) -> None:
        """Relay each message; the socket counts as open once EVI has said something on it."""
        async for raw in ws:
            if self._ws is None:
                self._ws = ws
                await self._on_state(self, SocketState.OPEN)
            try:
                message = json.loads(raw)
            except ValueError:
                log.warning("chat %s: a socket message that is not JSON was ignored", self.chat_id)
                continue
            if isinstance(message, dict):
                await self._on_message(self, message)
