"""Children that do not outlive the process that started them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGTERM, parent: int | None = None) -> None:
    """Ask Linux to send `sig` to this process when its parent dies, even by SIGKILL (a no-op elsewhere).

    For `Popen(preexec_fn=...)`, or called first thing in a forked child. A forked child passes its `parent`'s
    pid: if the parent died before the child got here, the signal comes at once instead of never."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, sig)
    if parent is not None and os.getppid() != parent:
        os.kill(os.getpid(), sig)
