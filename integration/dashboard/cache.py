"""A small in-process cache with expiry, for figures that may be a minute old (the orders chart).

The chart counts every order of the last two weeks; on a busy ledger that is tens of thousands of
index entries per page view. A minute-old chart is as useful as a fresh one, so each process keeps
the counts per (stores, time zone, day) for ``ttl_s`` and at most ``size`` such keys.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    """``get(key, compute)``: the cached value while fresh, else ``compute()`` (stored)."""

    def __init__(self, ttl_s: float = 60.0, size: int = 256, clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.size, self.clock = ttl_s, size, clock
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The value of ``key``, computed (outside the lock) when missing or expired."""
        now = self.clock()
        with self._lock:
            got = self._items.get(key)
            if got is not None and got[0] > now:
                self._items.move_to_end(key)
                return got[1]
        value = compute()
        with self._lock:
            self._items[key] = (now + self.ttl_s, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget everything (after an action that changes what the chart counts)."""
        with self._lock:
            self._items.clear()
