"""The handler API (`@tool`, the hooks, `ToolContext`, `ToolError`), how handler modules are found, and how one
handler runs within its deadline."""
