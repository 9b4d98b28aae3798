"""Example tools: copy this module, change the bodies, and point `TOOL_MODULES` at your copy.

Shows a plain tool with a `Literal` parameter, a lookup that answers `ToolError` when it finds nothing,
a tool that tells the caller to hold on (`ctx.send`) before a slow step, and one that fails and falls
back. The data is made up and deterministic, so scripts and tests can rely on it.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Annotated, Literal

from pydantic import Field

from evi_toolhost import AssistantInput, ToolContext, ToolError, tool

ORDERS: dict[str, dict[str, str | None]] = {
    "A1001": {"status": "shipped", "carrier": "DHL", "eta": "tomorrow"},
    "A1002": {"status": "processing", "carrier": None, "eta": "in 3 days"},
}


@tool(fallback="The weather service is unavailable right now.")
def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, object]:
    """Current weather in a city.

    Args:
        city: The city, e.g. "Paris".
        unit: The temperature unit to answer in.
    """
    seed = zlib.crc32(city.strip().lower().encode())
    celsius = seed % 35 - 5
    temperature = celsius if unit == "celsius" else round(celsius * 9 / 5 + 32)
    conditions = ("sunny", "cloudy", "rainy", "windy")[seed % 4]
    return {"city": city, "temperature": temperature, "unit": unit, "conditions": conditions}


@tool
def lookup_order(order_id: Annotated[str, Field(description="The order number, e.g. A1001.")]) -> dict[str, object]:
    """Status and delivery estimate of an order."""
    order = ORDERS.get(order_id.strip().upper())
    if order is None:
        raise ToolError(
            f"There is no order {order_id}. Ask the caller to read the order number again.", code="order_not_found"
        )
    return {"order_id": order_id.upper(), **order}


@tool(timeout=8, fallback="The booking system did not answer. Offer to call back.")
async def check_availability(date: str, ctx: ToolContext, party_size: int = 2) -> str:
    """Whether a table is free on a date (a slow lookup).

    Args:
        date: The day, as YYYY-MM-DD.
        party_size: How many people.
    """
    await ctx.send(AssistantInput(text="One moment while I look that up."))
    await asyncio.sleep(min(0.5, ctx.remaining() / 2))  # the slow step
    free = zlib.crc32(f"{date}/{party_size}".encode()) % 3 != 0
    return f"A table for {party_size} on {date} is {'available' if free else 'fully booked'}."


@tool(fallback="Loyalty points cannot be checked right now; tell the caller they can check in the app.")
def loyalty_points(member_id: str) -> int:
    """Loyalty points of a member (this one always fails, to show `fallback`)."""
    raise ConnectionError("loyalty service unreachable")
