"""Handler module the `evi-toolhost mcp` tests serve (`--tools tests.evi_toolhost.mcp_server.served_tools`)."""

from __future__ import annotations

from evi_toolhost import AssistantInput, ToolContext, ToolError, tool


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


print("a tool module that prints while it is imported")
