"""Test your tools as EVI calls them, through the worker's own job code, with no Redis, worker or Hume.

With pytest, the `evi` fixture is a `ToolKit` (the plugin comes with the package: nothing to configure):

    import myco.tools  # registers the tools

    async def test_forecast(evi) -> None:
        result = await evi.call("get_forecast", city="Paris")
        assert result.answer.type == "tool_response"

Without pytest, use `ToolKit()` as a context manager, or `await call_tool(name, arguments)`.
"""

from workers.testing import BackgroundResult, CallResult, Delivered, ToolKit, call_tool

__all__ = ["BackgroundResult", "CallResult", "Delivered", "ToolKit", "call_tool"]
