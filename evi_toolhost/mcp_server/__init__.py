"""The registered tools served as an MCP server (`evi-toolhost mcp`): the SDK's low-level server listing and
calling them (`server`), the `ToolContext` of a call that has no chat (`context`), and the bearer token that guards
the HTTP transport (`auth`). Needs the MCP SDK (the `mcp` extra)."""
