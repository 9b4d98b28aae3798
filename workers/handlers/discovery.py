"""Finding handler modules: the import paths in `TOOL_MODULES`, then the `evi_toolhost.tools` entry points.

Importing a module runs its decorators, which register its tools and hooks in the default registry.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

log = logging.getLogger("evi_toolhost.discovery")

ENTRY_POINT_GROUP = "evi_toolhost.tools"


class DiscoveryError(Exception):
    """A handler module could not be imported; the message names it and the error, in one line."""


def discover(module_names: Iterable[str], *, include_entry_points: bool = True) -> list[str]:
    """Import every handler module; return what was loaded. Raises DiscoveryError on the first failure."""
    loaded: list[str] = []
    for name in module_names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise DiscoveryError(f"cannot import tool module {name!r} (from TOOL_MODULES): {_one_line(exc)}") from exc
        loaded.append(name)
    if include_entry_points:
        for entry_point in _entry_points():
            try:
                entry_point.load()
            except Exception as exc:
                raise DiscoveryError(
                    f"cannot load entry point {entry_point.name!r} = {entry_point.value!r} "
                    f"(group {ENTRY_POINT_GROUP}): {_one_line(exc)}"
                ) from exc
            loaded.append(entry_point.value)
    return loaded


def _entry_points() -> list[EntryPoint]:
    return list(entry_points(group=ENTRY_POINT_GROUP))


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
