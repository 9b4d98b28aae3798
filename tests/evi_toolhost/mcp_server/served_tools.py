"""Handler module the `evi-toolhost mcp` tests serve (`--tools tests.evi_toolhost.mcp_server.served_tools`)."""

from __future__ import annotations

from evi_toolhost import AssistantInput, ToolContext, ToolError, ToolResult, tool


@tool
def add(a: int, b: int) -> int:
    """Adds two whole numbers."""
    return a + b


@tool
async def look_up_order(order_id: str, ctx: ToolContext) -> str:
    """Where an order is; says "one moment" to the chat first, and reads what was said."""
    await ctx.send(AssistantInput(text="One moment."))
    said = await ctx.transcript()
    if order_id == "Z9":
        raise ToolError("There is no order Z9.", code="order_not_found")
    return f"{order_id} shipped; {len(said)} lines said in chat {ctx.chat_id}"


@tool(background=True, ack="Booking it.", timeout=5, say_on_start="On it.", on_chat_end="finish")
async def book(day: str, ctx: ToolContext) -> ToolResult:
    """Books a day (a background tool for EVI); reads the earlier chats and says so."""
    earlier = await ctx.history()
    await ctx.say("Booking now.")
    return ToolResult(content=f"Booked {day}; {len(earlier)} earlier lines", variables={"day": day})


print("a tool module that prints while it is imported")
