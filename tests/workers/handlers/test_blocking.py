"""An async handler that blocks its loop is named in one warning with how long it blocked, whether it blocks in
its own coroutine or in a task it started; one that only awaits is not; the loop is left as it was."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from workers.handlers.blocking import LoopLag

BLOCK = 0.3


async def run_as_handler(handler: object) -> LoopLag:
    with LoopLag("lookup") as lag:
        task = asyncio.ensure_future(handler())  # type: ignore[operator]
        await task
    return lag


async def blocks() -> None:
    time.sleep(BLOCK)


async def blocks_in_a_gathered_task() -> None:
    await asyncio.gather(asyncio.sleep(0.01), blocks())


async def awaits() -> None:
    await asyncio.sleep(BLOCK)


@pytest.mark.parametrize("handler", [blocks, blocks_in_a_gathered_task])
def test_a_handler_that_blocks_its_loop_is_named_once_with_how_long(
    handler: object, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="evi_toolhost.execution"):
        lag = asyncio.run(run_as_handler(handler))
    assert BLOCK <= lag.worst < BLOCK + 0.2
    warnings = [r.getMessage() for r in caplog.records if "blocked its event loop" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].startswith("tool lookup blocked its event loop for 0.3")


def test_a_handler_that_only_awaits_is_not_named(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="evi_toolhost.execution"):
        lag = asyncio.run(run_as_handler(awaits))
    assert lag.worst < 0.05
    assert not [r for r in caplog.records if "blocked its event loop" in r.getMessage()]


def test_the_loop_keeps_its_own_task_factory_and_its_tasks_results() -> None:
    made: list[str] = []

    def factory(loop: asyncio.AbstractEventLoop, coroutine: object, **kwargs: object) -> asyncio.Task[object]:
        made.append(type(coroutine).__name__)
        return asyncio.Task(coroutine, loop=loop, **kwargs)  # type: ignore[arg-type]

    async def answer() -> str:
        await asyncio.sleep(0)
        return "ok"

    async def main() -> tuple[str, str, object]:
        loop = asyncio.get_running_loop()
        loop.set_task_factory(factory)
        with LoopLag("lookup"):
            inside = await asyncio.ensure_future(answer())
        after = await asyncio.ensure_future(answer())
        return inside, after, loop.get_task_factory()

    inside, after, kept = asyncio.run(main())
    assert (inside, after, kept) == ("ok", "ok", factory)
    # timed while the handler ran, through the loop's own factory (asyncio.run's own shutdown tasks follow)
    assert made[:2] == ["TimedSteps", "coroutine"]
