"""What a tool declares about the caller's experience while it runs, beside its result: what is said (at the
start, when it is slow), whether it runs in the background, and what a chat's end or a barge-in does to it.

These are `@tool` options (`say_on_start=`, `say_if_slow=`, `slow_after=`, `background=`, `ack=`, `announce=`,
`on_chat_end=`, `cancel_on_interrupt=`), checked here when the decorator runs, so a mistake fails at import.
None of them is sent to Hume: they shape what this service does around the call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

ChatEndPolicy = Literal["cancel", "finish"]
CHAT_END_POLICIES: tuple[ChatEndPolicy, ...] = ("cancel", "finish")
DEFAULT_ACK = "I've started that and will tell you when it's done."

POLICY_OPTIONS = (
    "say_on_start",
    "say_if_slow",
    "slow_after",
    "background",
    "ack",
    "announce",
    "on_chat_end",
    "cancel_on_interrupt",
)


@dataclass(frozen=True)
class CallPolicy:
    say_on_start: str | None = None
    """Said (`assistant_input`) as the call starts."""
    say_if_slow: tuple[str, ...] | None = None
    """One of these is said if no answer went out `slow_after` seconds after the start; None: the deployment's
    `TOOL_SAY_IF_SLOW`; empty: never, whatever the deployment says."""
    slow_after: float | None = None
    """Seconds; None: the deployment's `TOOL_SLOW_AFTER_SECONDS`."""
    background: bool = False
    """Answered at once with `ack`; the handler goes on under its own timeout and its result is told later."""
    ack: str | None = None
    """The `tool_response` of a background tool (None for a tool that is not one)."""
    announce: bool = True
    """A background tool's result is also spoken (`assistant_input`), not only put into the session's context."""
    on_chat_end: ChatEndPolicy = "cancel"
    cancel_on_interrupt: bool = False
    """A `user_interruption` while the call runs cancels it (answered `tool_error` `cancelled`)."""

    @property
    def speaks(self) -> bool:
        """Whether anything may be said around the call on the tool's own account (not counting deployment
        defaults)."""
        return self.say_on_start is not None or bool(self.say_if_slow)


DEFAULT_POLICY = CallPolicy()


def build_policy(
    *,
    say_on_start: Any = None,
    say_if_slow: Any = None,
    slow_after: Any = None,
    background: Any = False,
    ack: Any = None,
    announce: Any = None,
    on_chat_end: Any = "cancel",
    cancel_on_interrupt: Any = False,
) -> CallPolicy:
    """The policy of these `@tool` options; TypeError or ValueError naming the option for a wrong one."""
    _text("say_on_start", say_on_start)
    phrases = _phrases(say_if_slow)
    if slow_after is not None and (
        isinstance(slow_after, bool) or not isinstance(slow_after, int | float) or slow_after <= 0
    ):
        raise ValueError(f"@tool option slow_after= must be a positive number of seconds, not {slow_after!r}")
    for name, value in (("background", background), ("cancel_on_interrupt", cancel_on_interrupt)):
        if not isinstance(value, bool):
            raise TypeError(f"@tool option {name}= must be True or False, not {value!r}")
    if announce is not None and not isinstance(announce, bool):
        raise TypeError(f"@tool option announce= must be True or False, not {announce!r}")
    _text("ack", ack)
    if on_chat_end not in CHAT_END_POLICIES:
        raise ValueError(f"@tool option on_chat_end= must be 'cancel' or 'finish', not {on_chat_end!r}")
    if background:
        if say_if_slow is not None or slow_after is not None:
            raise ValueError(
                "@tool options say_if_slow= and slow_after= do not apply to background=True: "
                "a background tool is answered at once, with its ack"
            )
        if cancel_on_interrupt:
            raise ValueError(
                "@tool option cancel_on_interrupt= does not apply to background=True: EVI is not waiting for a "
                "background tool (its ack answered at once), so there is nothing to cancel for the caller"
            )
    else:
        for name, value in (("ack", ack), ("announce", announce)):
            if value is not None:
                raise ValueError(f"@tool option {name}= applies only to background=True tools")
    return CallPolicy(
        say_on_start=say_on_start,
        say_if_slow=phrases,
        slow_after=float(slow_after) if slow_after is not None else None,
        background=background,
        ack=(ack if ack is not None else DEFAULT_ACK) if background else None,
        announce=announce if announce is not None else True,
        on_chat_end=on_chat_end,
        cancel_on_interrupt=cancel_on_interrupt,
    )


def _text(name: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise TypeError(f"@tool option {name}= must be a string, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"@tool option {name}= must not be empty")


def _phrases(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(phrase, str) and phrase.strip() for phrase in value):
        raise TypeError(f"@tool option say_if_slow= must be a phrase or a list of non-empty phrases, not {value!r}")
    return tuple(value)
