"""The example tools, called as EVI would (this is also how users test their own tools)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import examples.weather  # noqa: F401  (registers the example tools)
from service.evi.control_plane import RecordingControlPlane
from service.evi.messages import AssistantInput, SessionSettings, ToolErrorMessage, ToolResponseMessage
from workers.handlers.registry import default_registry
from workers.testing import ToolKit, call_tool


def call(name: str, arguments: dict[str, Any], **kwargs: Any) -> ToolResponseMessage | ToolErrorMessage:
    return asyncio.run(call_tool(name, arguments, **kwargs))


def test_get_weather_with_the_scripted_arguments() -> None:
    answer = call("get_weather", {"city": "Paris", "unit": "celsius"})
    assert isinstance(answer, ToolResponseMessage)
    weather = json.loads(answer.content)
    assert (weather["city"], weather["unit"]) == ("Paris", "celsius")
    assert answer == call("get_weather", {"city": "Paris", "unit": "celsius"}, tool_call_id=answer.tool_call_id)


def test_get_weather_schema() -> None:
    tool = default_registry.get("get_weather")
    assert tool is not None
    assert tool.parameters_schema() == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": 'The city, e.g. "Paris".'},
            "unit": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "default": "celsius",
                "description": "The temperature unit to answer in.",
            },
        },
        "required": ["city"],
    }


def test_lookup_order_found_and_not_found() -> None:
    found = call("lookup_order", {"order_id": "a1001"})
    assert json.loads(found.content or "")["status"] == "shipped"
    missing = call("lookup_order", {"order_id": "Z1"})
    assert isinstance(missing, ToolErrorMessage) and missing.code == "order_not_found"


def test_check_availability_says_one_moment_then_still_checking_as_it_is_slow() -> None:
    recorder = RecordingControlPlane()
    answer = call("check_availability", {"date": "2026-05-01", "party_size": 4}, control_plane=recorder)
    assert isinstance(answer, ToolResponseMessage)
    assert [m.type for m in recorder.messages()] == ["assistant_input", "assistant_input", "tool_response"]
    start, slow = recorder.messages()[:2]
    assert start.text == "One moment while I look that up."  # type: ignore[union-attr]
    assert slow.text.startswith("Still")  # type: ignore[union-attr]


async def test_book_table_acks_then_tells_the_booking_with_its_reference(evi: ToolKit) -> None:
    result = await evi.call("book_table", date="2026-05-01", party_size=4)
    ack = "I'm booking that now and will tell you as soon as it's confirmed."
    assert (result.type, result.content) == ("tool_response", ack)
    told = await evi.background(result)
    settings, said = told.messages
    assert isinstance(settings, SessionSettings) and isinstance(said, AssistantInput)
    reference = (settings.variables or {})["booking_reference"]
    assert said.text == f"Your table for 4 on 2026-05-01 is booked. The reference is {reference}."


async def test_previous_conversation_reads_the_earlier_call(evi: ToolKit) -> None:
    assert (await evi.call("previous_conversation")).content == "This is the caller's first conversation."
    evi.chat_id = "called-back"
    evi.set_history([("user", "A table on Friday, please."), ("assistant", "For how many?"), ("user", "Two.")])
    result = await evi.call("previous_conversation")
    assert result.content == "In the earlier call, the caller said: A table on Friday, please. / Two."


def test_loyalty_points_falls_back() -> None:
    answer = call("loyalty_points", {"member_id": "m1"})
    assert isinstance(answer, ToolErrorMessage)
    assert answer.code == "tool_failed"
    assert answer.content == default_registry.get("loyalty_points").fallback  # type: ignore[union-attr]
