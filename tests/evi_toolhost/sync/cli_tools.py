"""Handler module for the CLI tests (`TOOL_MODULES=tests.evi_toolhost.sync.cli_tools`)."""

from __future__ import annotations

from typing import Literal

from workers import tool


@tool(fallback="The forecast is unavailable.")
def toolsync_forecast(city: str, days: int = 3, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Weather forecast for a city.

    Args:
        city: The city, e.g. "Paris".
        days: How many days ahead.
    """
    return f"{city}: sunny for {days} days ({unit})"


@tool
def toolsync_order_status(order_id: str) -> str:
    """Where an order is."""
    return f"{order_id}: shipped"
