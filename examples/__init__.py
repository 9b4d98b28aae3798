"""Example tool modules to copy. Load one with `TOOL_MODULES=examples.weather`."""
