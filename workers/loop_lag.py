"""How late an event loop runs what is due: a timer asks to wake every `INTERVAL_SECONDS` and notes how late it
woke. A loop held up (a blocking call on it, too much work) delays every answer it carries; the gauge
(`evi_event_loop_lag_seconds`) shows the worst lag of the last `WINDOW_SECONDS`, so a scrape sees a spike between
two scrapes."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

INTERVAL_SECONDS = 0.25
WINDOW_SECONDS = 10.0


async def sample_loop_lag(report: Callable[[float], None], interval: float = INTERVAL_SECONDS) -> None:
    """Until cancelled: `report(worst lag in seconds over the window)` after each tick of the running loop."""
    loop = asyncio.get_running_loop()
    recent: deque[float] = deque(maxlen=max(1, round(WINDOW_SECONDS / interval)))
    while True:
        due = loop.time() + interval
        await asyncio.sleep(interval)
        recent.append(max(0.0, loop.time() - due))
        report(max(recent))
