"""evi-toolhost installs three top-level packages: `evi_toolhost`, `service` and `workers`. The last two have
generic names, so a user's own `workers/` (or `service/`) package earlier on `sys.path` would be imported in
their place and fail far from the cause. This names the cause in one line, before anything imports them.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

GENERIC_PACKAGES = ("service", "workers")


class ShadowedPackage(ImportError):
    """One of our packages resolves to another location; the message says which path shadows which."""


def shadowing_problem() -> str | None:
    """What shadows one of our packages, in one line, or None when all of them are ours."""
    home = Path(__file__).resolve().parent.parent
    for name in GENERIC_PACKAGES:
        ours = home / name
        module = sys.modules.get(name)
        origin = getattr(module, "__file__", None) if module is not None else _origin(name)
        if origin is None:
            return f"evi-toolhost: its package {name!r} is missing (expected at {ours}); reinstall evi-toolhost"
        found = Path(origin).resolve().parent
        if found != ours:
            return (
                f"evi-toolhost: {found} shadows evi-toolhost's own {name!r} package ({ours}): "
                f"rename your package or take its folder off sys.path (PYTHONPATH, the working directory)"
            )
    return None


def check_packages() -> None:
    problem = shadowing_problem()
    if problem is not None:
        raise ShadowedPackage(problem)


def _origin(name: str) -> str | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.has_location else None
