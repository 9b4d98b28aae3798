from typing import Literal

from evi_toolhost import AssistantInput, ToolContext, ToolError, tool


@tool(timeout=5, fallback="The weather service is down right now.")
async def get_forecast(
    city: str, ctx: ToolContext, unit: Literal["celsius", "fahrenheit"] = "celsius"
) -> dict[str, object]:
    """Tomorrow's forecast for a city."""
    await ctx.send(AssistantInput(text="One moment while I look that up."))
    if city.lower() == "atlantis":
        raise ToolError("There is no forecast for Atlantis.", code="unknown_city")
    return {"city": city, "high": 21 if unit == "celsius" else 70, "unit": unit}
