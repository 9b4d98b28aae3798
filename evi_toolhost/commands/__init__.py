"""Subcommands of `evi-toolhost` that belong to the web tier."""
