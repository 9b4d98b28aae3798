"""The pytest plugin installed with evi-toolhost (entry point `pytest11`): the `evi` fixture, and `async def`
tests run on asyncio when no other plugin (pytest-asyncio, anyio, trio) takes them.

Kept light: it is loaded by every pytest run where the package is installed, so it imports the test kit only
when a test asks for `evi`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from workers.testing import ToolKit

OTHER_ASYNC_MARKERS = ("asyncio", "anyio", "trio")


@pytest.fixture
def evi() -> Iterator[ToolKit]:
    """A `ToolKit`: call your tools as EVI would, through the worker's own job code (see `evi_toolhost.testing`)."""
    from workers.testing import ToolKit

    with ToolKit() as kit:
        yield kit


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    test = pyfuncitem.obj
    if not inspect.iscoroutinefunction(test):
        return None
    taken = any(pyfuncitem.get_closest_marker(name) for name in OTHER_ASYNC_MARKERS)
    if taken or "anyio_backend" in pyfuncitem.funcargs:
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(test(**arguments))
    return True
