"""Tools the call-log and ops-page integration tests load through `TOOL_MODULES`: one outcome each, and one with a
redacted argument that tries every way a value leaks (its own log line, an exception quoting it)."""

from __future__ import annotations

import asyncio
import logging

from workers import ToolError, tool

log = logging.getLogger("tests.call_log_tools")


@tool(timeout=5)
async def lookup_order(order_id: str, delay_ms: int = 0) -> dict[str, str]:
    """An order's status, after `delay_ms` of pretend I/O."""
    await asyncio.sleep(delay_ms / 1000)
    if order_id.startswith("missing"):
        raise ToolError(f"There is no order {order_id}.", code="unknown_order")
    return {"order_id": order_id, "status": "shipped"}


@tool(timeout=1, fallback="The report is taking too long.")
async def slow_report(seconds: float) -> str:
    """Takes `seconds`; past its 1 s timeout it is answered `timeout`."""
    await asyncio.sleep(seconds)
    return "report ready"


@tool(timeout=5, redact=["card_number"])
def pay(card_number: str, amount: int) -> str:
    """Charges a card; a negative amount fails with the card number in the exception's message."""
    log.info("charging %s for %d", card_number, amount)
    if amount < 0:
        raise ValueError(f"card {card_number} cannot be charged {amount}")
    return f"Charged {amount} to the card ending {card_number[-4:]}."
