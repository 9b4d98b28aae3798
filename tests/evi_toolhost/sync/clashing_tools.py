"""Handler module for the CLI tests whose tool has the name an MCP tool gets (`weather_get_forecast`)."""

from __future__ import annotations

from workers import tool


@tool
def weather_get_forecast(city: str) -> str:
    """A forecast of our own, named like the weather MCP server's."""
    return city
