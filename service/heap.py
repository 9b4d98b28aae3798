"""Python's cyclic garbage collector in a long-running process: what start-up made is set aside once.

A full collection walks every tracked object. A service that has imported its libraries holds tens of
thousands of them (about 60,000 in the web process), so each full collection took 20-40 ms, and under load
Python ran one every second or so (request objects outlive two young collections and count as long-lived):
a pause of that length every second is the tail of the intake's latency. `gc.freeze()` moves everything
alive at the end of start-up out of the collector's reach, so later collections walk only what was made
since. Freezing before a fork also keeps the children from touching (and copying) the parent's pages.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect once, then exempt every object alive now from later collections (call when start-up is done)."""
    gc.collect()
    gc.freeze()
