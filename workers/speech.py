"""What the caller hears while a tool runs, declared on the tool instead of sent by hand: `say_on_start` as the
call starts, and one `say_if_slow` phrase (picked at random) if no answer has gone out `slow_after` seconds
after the start. Each is an `assistant_input`, sent by the relay's socket when it holds the chat's (the same
delivery as `ctx.send`).

A `Speech` lives on the runtime's loop: begun as the handler starts, finished right before the answer is sent.
Finishing stops the slow timer and waits for a phrase already under way, so no phrase is ever said after the
answer, and the answer never overtakes one.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass

from service.evi.messages import AssistantInput
from service.settings import Settings
from workers.delivery import Delivery
from workers.handlers.call_policy import CallPolicy

log = logging.getLogger("evi_toolhost.speech")


@dataclass(frozen=True)
class Phrases:
    on_start: str | None
    if_slow: str | None
    slow_after: float


def phrases_for(policy: CallPolicy, settings: Settings) -> Phrases | None:
    """What this call may say (the tool's own, else the deployment's `TOOL_SAY_IF_SLOW`); None: nothing."""
    slow = policy.say_if_slow if policy.say_if_slow is not None else tuple(settings.tool_say_if_slow)
    if policy.background:
        slow = ()
    if policy.say_on_start is None and not slow:
        return None
    slow_after = policy.slow_after if policy.slow_after is not None else settings.tool_slow_after_seconds
    return Phrases(policy.say_on_start, random.choice(slow) if slow else None, slow_after)


class Speech:
    def __init__(
        self,
        delivery: Delivery,
        chat_id: str,
        phrases: Phrases,
        *,
        deadline: float,
        custom_session_id: str | None = None,
    ) -> None:
        self.delivery = delivery
        self.chat_id = chat_id
        self.phrases = phrases
        self.deadline = deadline
        self.custom_session_id = custom_session_id
        self.said: list[str] = []
        self._over = False
        self._timer: asyncio.TimerHandle | None = None
        self._sending: list[asyncio.Task[None]] = []

    def begin(self) -> None:
        """On the runtime's loop, as the handler starts."""
        if self._over:
            return
        if self.phrases.on_start is not None:
            self._say(self.phrases.on_start)
        if self.phrases.if_slow is not None:
            self._timer = asyncio.get_running_loop().call_later(self.phrases.slow_after, self._slow)

    async def finish(self, *, wait: bool = True) -> None:
        """No phrase from now on; with `wait`, the ones under way have gone out when this returns."""
        self._over = True
        if self._timer is not None:
            self._timer.cancel()
        if wait and self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    def _slow(self) -> None:
        if not self._over and self.phrases.if_slow is not None:
            self._say(self.phrases.if_slow)

    def _say(self, text: str) -> None:
        self.said.append(text)
        self._sending.append(asyncio.get_running_loop().create_task(self._send(text)))

    async def _send(self, text: str) -> None:
        message = AssistantInput(text=text, custom_session_id=self.custom_session_id)
        try:
            await self.delivery.send(self.chat_id, message, deadline=self.deadline)
        except Exception as exc:  # a phrase that does not go out must not fail the call
            log.warning("chat %s: %r was not said: %s", self.chat_id, text, type(exc).__name__)
