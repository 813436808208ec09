"""The worker's loops for the shop's own API: write-back and reconcile, each in its own thread.

``start`` is the one hook the booking worker calls (``Worker.run``); ``ShopLoops.join`` waits after
the stop event is set, so write-backs already at the shop finish and are recorded before the process
exits. A configuration without any ``api:`` block starts nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine

from integration.booking.reconcile import ReconcileLoop
from integration.booking.writeback import WritebackLoop
from integration.config import Config


@dataclass
class ShopLoops:
    """The running loop threads."""

    threads: list[threading.Thread] = field(default_factory=list)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the loops to end (set the stop event first)."""
        for thread in self.threads:
            thread.join(timeout)


def start(config: Config, engine: Engine, worker_id: str, stop: threading.Event,
          clock: Callable[[], datetime] | None = None) -> ShopLoops:
    """Start the write-back loop and the reconcile loop for the stores that have them; ``stop`` ends both."""
    loops = ShopLoops()
    writeback = WritebackLoop(config, engine, worker_id, clock=clock)
    if writeback.stores:
        loops.threads.append(threading.Thread(target=writeback.run, args=(stop,), name="writeback", daemon=True))
    reconcile = ReconcileLoop(config, engine, clock=clock)
    if reconcile.stores:
        loops.threads.append(threading.Thread(target=reconcile.run, args=(stop,), name="reconcile", daemon=True))
    for thread in loops.threads:
        thread.start()
    return loops
