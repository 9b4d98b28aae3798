"""A tool both a real worker and the test kit run (the kit in the test process, so: no hooks in this module)."""

from __future__ import annotations

from evi_toolhost import AssistantInput, ToolContext, tool


@tool(timeout=5)
async def say_then_answer(ctx: ToolContext) -> str:
    """Says one moment, then answers (the worker and the test kit must record it alike)."""
    await ctx.send(AssistantInput(text="One moment."))
    return "done"
