"""The tools of the MCP servers in `MCP_SERVERS`, as EVI tools: their schemas made fit for Hume (`schema`), their
names (`tools`), one session per server kept on one loop (`connection`, `hub`), their results as text
(`results`), the listing at start (`loading`) and the sessions of a worker process (`process`).

Only `loading` and `process` may be imported without the MCP SDK installed (the `mcp` extra).
"""
