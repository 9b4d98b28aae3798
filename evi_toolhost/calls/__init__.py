"""The `evi-toolhost calls` command's parts: rendering the call log as text, and replaying a recorded call."""
