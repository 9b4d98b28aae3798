"""The loop-lag sampler reports how late a held-up loop ran its timer, at worst over its window."""

from __future__ import annotations

import asyncio
import time

from workers.loop_lag import sample_loop_lag


def test_a_loop_blocked_for_a_while_reports_that_lag_until_it_leaves_the_window() -> None:
    reports: list[float] = []

    async def scenario() -> None:
        sampler = asyncio.create_task(sample_loop_lag(reports.append, interval=0.01))
        while len(reports) < 3:
            await asyncio.sleep(0.01)
        quiet = max(reports)
        time.sleep(0.2)  # a blocking call on the loop
        seen = len(reports)
        while len(reports) < seen + 3:
            await asyncio.sleep(0.01)
        sampler.cancel()
        assert quiet < 0.15
        assert reports[-1] >= 0.15  # the worst of the window, still reported after the loop came back

    asyncio.run(scenario())
