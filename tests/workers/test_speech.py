"""What a tool says while it runs (`say_on_start`, `say_if_slow`), through the `evi` fixture (the worker's own
walk), and the choice of phrases."""

from __future__ import annotations

import asyncio

from evi_toolhost import ToolContext, tool
from evi_toolhost.testing import ToolKit
from service.evi.messages import AssistantInput
from tests.conftest import make_settings
from workers.handlers.call_policy import CallPolicy
from workers.speech import Phrases, Speech, phrases_for

SLOW = ["Still checking.", "Almost there."]


@tool(timeout=5, say_on_start="One moment.", say_if_slow=SLOW, slow_after=0.2)
async def speech_lookup(seconds: float) -> str:
    """Takes `seconds`."""
    await asyncio.sleep(seconds)
    return "found"


@tool(timeout=5, say_if_slow="Still here.", slow_after=0.1)
def speech_sync_lookup(seconds: float) -> str:
    """A plain function that blocks `seconds`."""
    import time

    time.sleep(seconds)
    return "found"


@tool(timeout=5, say_on_start="One moment.")
async def speech_says_itself(ctx: ToolContext) -> str:
    """Says something of its own between the start phrase and the answer."""
    await ctx.say("Found three tables.")
    return "three"


@tool(timeout=5, say_on_start="One moment.", say_if_slow="Still checking.", slow_after=0.1)
def speech_fails() -> str:
    """Fails after the slow phrase."""
    import time

    time.sleep(0.3)
    raise ConnectionError("down")


async def test_a_slow_call_says_the_start_phrase_then_one_slow_phrase_then_answers(evi: ToolKit) -> None:
    result = await evi.call("speech_lookup", seconds=0.6)
    start, slow, answer = result.timeline
    assert (start.message, answer.message) == (AssistantInput(text="One moment."), result.answer)
    assert isinstance(slow.message, AssistantInput) and slow.message.text in SLOW
    assert start.at < 0.1
    assert 0.2 <= slow.at < 0.2 + 0.15, "the slow phrase comes slow_after seconds after the start"
    assert answer.at >= 0.6
    assert len(result.said) == 2, "one slow phrase, however long the call"


async def test_a_quick_call_gets_no_slow_phrase(evi: ToolKit) -> None:
    result = await evi.call("speech_lookup", seconds=0.01)
    assert result.said == ["One moment."]
    assert [m.type for m in result.messages] == ["assistant_input", "tool_response"]


def test_plain_functions_get_their_slow_phrase_too(evi: ToolKit) -> None:
    result = evi.call_sync("speech_sync_lookup", seconds=0.4)
    assert result.said == ["Still here."]
    assert result.type == "tool_response"


async def test_what_the_handler_says_itself_comes_between(evi: ToolKit) -> None:
    result = await evi.call("speech_says_itself")
    assert result.said == ["One moment.", "Found three tables."]


def test_a_failing_call_says_its_phrases_then_gets_its_error(evi: ToolKit) -> None:
    result = evi.call_sync("speech_fails")
    assert result.said == ["One moment.", "Still checking."]
    assert (result.type, result.code) == ("tool_error", "tool_failed")


def test_the_deployment_s_phrases_apply_to_tools_that_do_not_choose() -> None:
    settings = make_settings(tool_say_if_slow="Hang on.|Nearly done.", tool_slow_after_seconds=3)
    assert phrases_for(CallPolicy(), make_settings()) is None
    found = phrases_for(CallPolicy(), settings)
    assert found is not None and found.if_slow in ("Hang on.", "Nearly done.") and found.slow_after == 3
    assert phrases_for(CallPolicy(say_if_slow=()), settings) is None, "say_if_slow=[] opts out"
    assert phrases_for(CallPolicy(say_if_slow=("Mine.",), slow_after=0.5), settings) == Phrases(None, "Mine.", 0.5)
    assert phrases_for(CallPolicy(say_on_start="Hi.", background=True), settings) == Phrases("Hi.", None, 3)


class SlowDelivery:
    """Takes 0.2 s to deliver each message; notes when each was handed over and when it had gone out."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    async def send(self, chat_id: str, message: AssistantInput, *, deadline: float) -> None:
        self.events.append(("sending", message.text))
        await asyncio.sleep(0.2)
        self.events.append(("sent", message.text))


def test_finishing_waits_for_a_phrase_under_way_and_no_phrase_comes_after() -> None:
    delivery = SlowDelivery()

    async def scenario() -> None:
        speech = Speech(delivery, "chat-1", Phrases("Start.", "Slow.", 0.05), deadline=0)  # type: ignore[arg-type]
        speech.begin()
        await asyncio.sleep(0.1)  # the slow phrase is under way
        await speech.finish()
        delivery.events.append(("answer", ""))
        await asyncio.sleep(0.2)

    asyncio.run(scenario())
    assert delivery.events == [
        ("sending", "Start."),
        ("sending", "Slow."),
        ("sent", "Start."),
        ("sent", "Slow."),
        ("answer", ""),
    ]


def test_a_call_answered_before_slow_after_never_says_the_slow_phrase() -> None:
    delivery = SlowDelivery()

    async def scenario() -> None:
        speech = Speech(delivery, "chat-1", Phrases(None, "Slow.", 0.1), deadline=0)  # type: ignore[arg-type]
        speech.begin()
        await speech.finish()
        await asyncio.sleep(0.3)

    asyncio.run(scenario())
    assert delivery.events == []
