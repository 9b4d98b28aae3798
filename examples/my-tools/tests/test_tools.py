import myco.tools  # noqa: F401  (importing the module registers its tools)

from evi_toolhost.testing import ToolKit


async def test_forecast_says_one_moment_then_answers(evi: ToolKit) -> None:
    result = await evi.call("get_forecast", city="Paris")
    assert [message.type for message in result.messages] == ["assistant_input", "tool_response"]
    assert result.record["status"] == "answered"


def test_there_is_no_forecast_for_atlantis(evi: ToolKit) -> None:
    result = evi.call_sync("get_forecast", city="Atlantis")
    assert (result.type, result.code) == ("tool_error", "unknown_city")
