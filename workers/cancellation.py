"""The calls a runtime runs (a worker process has one), by chat, so a chat's end or the caller's interruption can
stop them.

A call is watched while its handler runs: an entry in memory, so a call costs no Redis round trip for this. The
signals arrive from anywhere (`workers.chat_signals`: the chat_ended job and the relay publish them, each worker
process listens) and act here:

- the chat ended: every call of the chat notes it (its answer must not be sent), and those of tools with
  `on_chat_end="cancel"` (the default) are stopped at once; `"finish"` ones run to their end. A chat that ended
  is remembered for a while, so a call of it that starts afterwards is treated the same from its start;
- the caller interrupted (`user_interruption` at `at_ms`, EVI's clock): calls of tools with
  `cancel_on_interrupt=True` that EVI made before that moment are stopped (their answer: `tool_error`
  `cancelled`). Comparing with the call's own time makes a replayed, older interruption (a socket that
  reconnects is sent the chat so far) stop nothing.

Stopping resolves the watch's `stop` future (thread-safe), which the execution waits on beside the handler.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from workers.handlers.call_policy import DEFAULT_POLICY, CallPolicy

StopReason = Literal["chat_ended", "user_interruption"]
ENDED_MEMORY_SECONDS = 3600.0
ENDED_MEMORY_SIZE = 10_000


@dataclass(eq=False)
class CallWatch:
    chat_id: str
    tool_call_id: str
    policy: CallPolicy
    triggered_ms: int
    """When EVI made the call (its `timestamp`): an interruption before it is about something else."""
    stop: Future[str] = field(default_factory=Future)
    """Resolves with a `StopReason` when the call must stop."""
    chat_ended: bool = False
    """The chat ended while the call ran (or before it started): nothing may be sent for it."""

    def _stop(self, reason: StopReason) -> bool:
        if self.stop.done():
            return False
        self.stop.set_result(reason)
        return True

    def _end(self) -> bool:
        self.chat_ended = True
        return self.policy.on_chat_end == "cancel" and self._stop("chat_ended")

    def _interrupt(self, at_ms: int) -> bool:
        if not self.policy.cancel_on_interrupt or self.policy.background or at_ms < self.triggered_ms:
            return False
        return self._stop("user_interruption")


class RunningCalls:
    def __init__(self) -> None:
        self._by_chat: dict[str, set[CallWatch]] = {}
        self._ended: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def add(
        self, chat_id: str, tool_call_id: str, policy: CallPolicy = DEFAULT_POLICY, *, triggered_ms: int = 0
    ) -> CallWatch:
        watch = CallWatch(chat_id, tool_call_id, policy, triggered_ms)
        with self._lock:
            self._by_chat.setdefault(chat_id, set()).add(watch)
            if self._ended_recently(chat_id):
                watch._end()
        return watch

    def remove(self, watch: CallWatch) -> None:
        with self._lock:
            watches = self._by_chat.get(watch.chat_id)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._by_chat[watch.chat_id]

    @contextmanager
    def watching(
        self, chat_id: str, tool_call_id: str, policy: CallPolicy = DEFAULT_POLICY, *, triggered_ms: int = 0
    ) -> Iterator[CallWatch]:
        watch = self.add(chat_id, tool_call_id, policy, triggered_ms=triggered_ms)
        try:
            yield watch
        finally:
            self.remove(watch)

    def chat_ended(self, chat_id: str, *, remember: bool = True) -> int:
        """The chat ended: how many of its calls were stopped. `remember=False` for a sign short of Hume's word (the
        chat's socket closed normally): the running calls are treated as ended, later ones are not."""
        with self._lock:
            if remember:
                self._ended[chat_id] = time.monotonic()
                self._ended.move_to_end(chat_id)
                while len(self._ended) > ENDED_MEMORY_SIZE:
                    self._ended.popitem(last=False)
            return sum(watch._end() for watch in self._by_chat.get(chat_id, ()))

    def interrupted(self, chat_id: str, at_ms: int) -> int:
        """The caller interrupted at `at_ms`: how many of the chat's calls were stopped."""
        with self._lock:
            return sum(watch._interrupt(at_ms) for watch in self._by_chat.get(chat_id, ()))

    def running(self, chat_id: str) -> list[str]:
        """The tool call ids of the chat's calls running in this process."""
        with self._lock:
            return sorted(watch.tool_call_id for watch in self._by_chat.get(chat_id, ()))

    def _ended_recently(self, chat_id: str) -> bool:
        since = self._ended.get(chat_id)
        return since is not None and time.monotonic() - since < ENDED_MEMORY_SECONDS

