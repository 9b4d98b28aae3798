"""Time as EVI states it: Unix milliseconds (webhook `timestamp`, `start_time`, `end_time`, chat events)."""

from __future__ import annotations

import time


def now_ms() -> int:
    return int(time.time() * 1000)
