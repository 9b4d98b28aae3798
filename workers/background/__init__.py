"""Background tools (`@tool(background=True, ack=...)`): EVI gets the ack as the call's `tool_response` at once,
the handler runs on under its own `timeout`, and its result is told to the live chat when it finishes.

- `run.py`: the run: the ack (or the answer for invalid arguments), then the handler in a thread of its own,
  outside the worker's job slots, so a long run never holds up the calls EVI is waiting for;
- `telling.py`: the result into the chat: `session_settings` (context, variables), then unless
  `announce=False` an `assistant_input` that says it; a failure says the fallback; nothing for an ended chat;
- `lost.py`: a run whose worker died is found past its time (`evi:background`) and its fallback said.
"""

from workers.background.lost import LostRuns
from workers.background.run import BackgroundRun, wait_for_run, wait_for_runs

__all__ = ["BackgroundRun", "LostRuns", "wait_for_run", "wait_for_runs"]
