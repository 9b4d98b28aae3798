"""The worker tier, and the handler API users write their tools with:

from workers import tool, ToolContext, ToolError

@tool(fallback="The weather service is down.")
async def get_weather(city: str, ctx: ToolContext) -> dict[str, object]:
    \"\"\"Current weather in a city.\"\"\"
    ...
"""

from workers.handlers.context import ChatContext, ToolContext
from workers.handlers.errors import ToolError
from workers.handlers.registry import on_chat_ended, on_chat_started, tool
from workers.transcripts import TranscriptLine

__all__ = [
    "ChatContext",
    "ToolContext",
    "ToolError",
    "TranscriptLine",
    "on_chat_ended",
    "on_chat_started",
    "tool",
]
