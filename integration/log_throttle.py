"""Log refusals at a bounded rate: the first of each cause at once, then one summary per interval.

A flood of bad requests (4,000 wrong signatures in 3 s) used to write one line each, 830 KB of log
that buries everything else and can fill a disk. ``ThrottledLog`` writes the first event of a
cause at once, counts the rest of that interval, and when the interval ends writes one line
"<cause>: N more like "<message>" in the last S s". So each cause costs at most two lines per interval
however fast it comes, and nothing goes unreported: the counts are in the summary (and, for
requests, in the ``/metrics`` counters).

Causes are fixed strings chosen by our code, never request data, so the number of causes (and of
timers) is bounded.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_INTERVAL_S = 10.0


@dataclass
class _Window:
    ends: float
    template: str = ""
    suppressed: int = 0
    timer: threading.Timer | None = None


class ThrottledLog:
    """A logger front that writes at most one line plus one summary per cause per interval."""

    def __init__(self, logger: logging.Logger, interval_s: float = DEFAULT_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic):
        self.logger = logger
        self.interval_s = interval_s
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def log(self, level: int, cause: str, msg: str, *args: object) -> bool:
        """Log ``msg % args`` now if it is the first of ``cause`` in this interval; True when written."""
        if not self.logger.isEnabledFor(level):
            return False
        now = self._clock()
        with self._lock:
            window = self._windows.get(cause)
            if window is None or now >= window.ends:
                if window is not None and window.suppressed:
                    self._summarise(cause, window, level)  # its timer has not fired yet
                self._windows[cause] = _Window(ends=now + self.interval_s, template=msg)
                write = True
            else:
                window.suppressed += 1
                if window.timer is None:
                    window.timer = threading.Timer(max(0.0, window.ends - now), self._flush, (cause, level))
                    window.timer.daemon = True
                    window.timer.start()
                write = False
        if write:
            self.logger.log(level, msg, *args)
        return write

    def warning(self, cause: str, msg: str, *args: object) -> bool:
        """``log`` at WARNING."""
        return self.log(logging.WARNING, cause, msg, *args)

    def error(self, cause: str, msg: str, *args: object) -> bool:
        """``log`` at ERROR."""
        return self.log(logging.ERROR, cause, msg, *args)

    def flush(self) -> None:
        """Write every pending summary now (at exit, or in tests)."""
        with self._lock:
            for cause, window in self._windows.items():
                if window.suppressed:
                    self._summarise(cause, window, logging.WARNING)

    def reset(self) -> None:
        """Forget every window, writing pending summaries first (a new configuration, a test)."""
        self.flush()
        with self._lock:
            self._windows.clear()

    def _flush(self, cause: str, level: int) -> None:
        with self._lock:
            window = self._windows.get(cause)
            if window is not None and window.suppressed:
                self._summarise(cause, window, level)

    def _summarise(self, cause: str, window: _Window, level: int) -> None:
        # Called with the lock held; logging takes its own handler locks, never ours.
        count, window.suppressed = window.suppressed, 0
        if window.timer is not None:
            window.timer.cancel()
            window.timer = None
        self.logger.log(level, '%s: %d more like "%s" in the last %g s', cause, count, window.template,
                        self.interval_s)
