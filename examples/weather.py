"""Example tools: copy this module, change the bodies, and point `TOOL_MODULES` at your copy.

Shows a plain tool with a `Literal` parameter, a lookup that answers `ToolError` when it finds nothing, a slow
lookup that tells the caller to hold on (`say_on_start`, and `say_if_slow` when it takes a while), one that fails
and falls back, a booking that runs in the background and tells the caller when it is done (with an idempotency
key for the booking system and the reference as a session variable), and one that reads the caller's earlier
conversation. The data is made up and deterministic, so scripts and tests can rely on it.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Annotated, Literal

from pydantic import Field

from evi_toolhost import ToolContext, ToolError, ToolResult, tool

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


@tool(
    timeout=8,
    fallback="The booking system did not answer. Offer to call back.",
    say_on_start="One moment while I look that up.",
    say_if_slow=["Still checking the bookings.", "Still looking, the system is a bit slow today."],
    slow_after=0.4,
)
async def check_availability(date: str, party_size: int = 2) -> str:
    """Whether a table is free on a date (a slow lookup).

    Args:
        date: The day, as YYYY-MM-DD.
        party_size: How many people.
    """
    await asyncio.sleep(0.8)  # the slow step
    free = zlib.crc32(f"{date}/{party_size}".encode()) % 3 != 0
    return f"A table for {party_size} on {date} is {'available' if free else 'fully booked'}."


@tool(
    background=True,
    ack="I'm booking that now and will tell you as soon as it's confirmed.",
    timeout=30,
    on_chat_end="finish",
    fallback="The booking did not go through. Offer to try again.",
)
async def book_table(date: str, ctx: ToolContext, party_size: int = 2) -> ToolResult:
    """Book a table (the booking system takes a while: the caller is told when it is confirmed).

    Args:
        date: The day, as YYYY-MM-DD.
        party_size: How many people.
    """
    await asyncio.sleep(1.0)  # the booking system, called with ctx.idempotency_key: a retry books nothing twice
    reference = f"B-{zlib.crc32(ctx.idempotency_key.encode()) % 10000:04d}"
    return ToolResult(
        content=f"Your table for {party_size} on {date} is booked. The reference is {reference}.",
        variables={"booking_reference": reference},
    )


@tool
async def previous_conversation(ctx: ToolContext) -> str:
    """What the caller asked for in their earlier call, when they call back."""
    earlier = [line.text for line in await ctx.history() if line.role == "user"]
    if not earlier:
        return "This is the caller's first conversation."
    return "In the earlier call, the caller said: " + " / ".join(earlier[-3:])


@tool(fallback="Loyalty points cannot be checked right now; tell the caller they can check in the app.")
def loyalty_points(member_id: str) -> int:
    """Loyalty points of a member (this one always fails, to show `fallback`)."""
    raise ConnectionError("loyalty service unreachable")
