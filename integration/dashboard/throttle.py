"""Slow down password guessing: after a few failed logins, a user name or an address must wait.

Each failed login counts against the user name tried and against the client address; after
``free`` failures each further attempt must wait ``base_s * 2 ** (failures - free)`` seconds (at
most ``max_s``) after the last failure. An attempt made while waiting is refused without even
checking the password, so guessing costs exponentially more time while the owner who mistyped
twice notices nothing. Counts are kept in this process (each gunicorn worker keeps its own, so the
budget is multiplied by the number of workers) and forgotten ``forget_s`` after the last failure.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class LoginThrottle:
    """Counts failed logins per user name and per address; says how long the next one must wait."""

    def __init__(self, free: int = 5, base_s: float = 1.0, max_s: float = 900.0, forget_s: float = 3600.0,
                 max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.free, self.base_s, self.max_s, self.forget_s = free, base_s, max_s, forget_s
        self.max_entries = max_entries
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()

    def _keys(self, user: str, address: str) -> tuple[tuple[str, str], ...]:
        return (("user", user.strip().lower()), ("address", address or "?"))

    def _wait(self, key: tuple[str, str], now: float) -> float:
        got = self._failures.get(key)
        if got is None:
            return 0.0
        count, last = got
        if now - last > self.forget_s:
            del self._failures[key]
            return 0.0
        if count < self.free:
            return 0.0
        delay = min(self.max_s, self.base_s * 2 ** (count - self.free))
        return max(0.0, last + delay - now)

    def wait_s(self, user: str, address: str) -> float:
        """Seconds before a login for ``user`` from ``address`` may be tried (0: now)."""
        now = self.clock()
        with self._lock:
            return max(self._wait(k, now) for k in self._keys(user, address))

    def failed(self, user: str, address: str) -> None:
        """Count a failed login."""
        now = self.clock()
        with self._lock:
            for key in self._keys(user, address):
                count, _ = self._failures.pop(key, (0, now))
                self._failures[key] = (count + 1, now)  # most recent last: pruning drops the oldest
            while len(self._failures) > self.max_entries:
                self._failures.popitem(last=False)

    def succeeded(self, user: str, address: str) -> None:
        """Forget the failures of ``user`` and ``address`` after a correct password."""
        with self._lock:
            for key in self._keys(user, address):
                self._failures.pop(key, None)
