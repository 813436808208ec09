"""Group commit for SQLite: the deliveries that queue while one is written are stored in one transaction.

SQLite has one writer at a time, and with ``synchronous=FULL`` every commit waits for an fsync. When
several gunicorn threads of a process ingest at once, each used to take the write turn, BEGIN, write,
COMMIT, fsync and hand the turn on, one after the other. Here the first thread becomes the *leader*:
it takes the write turn (``writing``) and only then collects every delivery queued by the process's
other threads (up to ``MAX_BATCH``), writes them all in that one transaction, commits once, and
wakes their threads with their own outcomes. Threads that queued while it wrote wait for the next
leader, which is the first of them.

Each caller's answer still comes only after the commit that holds its rows: a result is handed
over after ``COMMIT`` returned, and an error (the transaction rolled back) reaches every caller whose
row was in it. When a batch fails part-way (one hostile row, a constraint), nothing of it was
committed; each of its deliveries is then written alone, so one bad delivery cannot fail the others.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Connection, Engine

from integration.ledger.engine import once_more_if_dropped, writing

T = TypeVar("T")
R = TypeVar("R")

# A batch is bounded so that one transaction (and the answers waiting on it) stays short: at 8-16
# threads per process a batch rarely holds more than the threads that arrived during one fsync.
MAX_BATCH = 32


class _Slot(Generic[T, R]):
    """One caller's item, and what became of it."""

    __slots__ = ("item", "ready", "lead", "result", "error")

    def __init__(self, item: T):
        self.item = item
        self.ready = threading.Event()
        self.lead = False                     # woken to lead the next batch, not with a result
        self.result: R | None = None
        self.error: BaseException | None = None

    def finish(self, result: R | None = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.ready.set()

    def outcome(self) -> R:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupWriter(Generic[T, R]):
    """Runs ``write(conn, item)`` for items of concurrent threads in shared write transactions."""

    def __init__(self, engine: Engine, write: Callable[[Connection, T], R]):
        self.engine = engine
        self.write = write
        self._mutex = threading.Lock()
        self._pending: list[_Slot[T, R]] = []
        self._leading = False

    def submit(self, item: T) -> R:
        """Write ``item`` (with whatever else is queued) and return its result once committed."""
        slot: _Slot[T, R] = _Slot(item)
        with self._mutex:
            self._pending.append(slot)
            lead = not self._leading
            self._leading = True
        if not lead:
            slot.ready.wait()
            if not slot.lead:
                return slot.outcome()
            slot.ready.clear()
        self._lead(slot)
        return slot.outcome()

    def _take(self) -> list[_Slot[T, R]]:
        with self._mutex:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
        return batch

    def _lead(self, own: _Slot[T, R]) -> None:
        """Write one batch (the leader's own slot is first in the queue, so always in it), then hand on."""
        batch: list[_Slot[T, R]] | None = None
        try:
            try:
                with writing(self.engine) as conn:
                    batch = self._take()  # after the write turn: whoever queued while we waited joins
                    results = [self.write(conn, slot.item) for slot in batch]
            except Exception as exc:  # noqa: BLE001 - handed to the callers, who decide (503)
                if batch is None:  # no transaction at all (database away): none of them is stored
                    for slot in self._take():
                        slot.finish(error=exc)
                elif len(batch) == 1:
                    batch[0].finish(error=exc)
                else:
                    self._one_by_one(batch)
                batch = None
            else:
                for slot, result in zip(batch, results, strict=True):
                    slot.finish(result)
                batch = None
        except BaseException as exc:
            if batch is None:  # stopped before the batch was taken: only our own slot leaves the queue
                with self._mutex:
                    if own in self._pending:
                        self._pending.remove(own)
            for slot in batch or ():  # never leave a caller waiting, whatever stopped us
                if not slot.ready.is_set():
                    slot.finish(error=exc)
            raise
        finally:
            self._hand_on()

    def _one_by_one(self, batch: list[_Slot[T, R]]) -> None:
        for slot in batch:
            try:
                slot.finish(once_more_if_dropped(lambda s=slot: self._alone(s.item)))
            except Exception as exc:  # noqa: BLE001 - this caller's own error
                slot.finish(error=exc)

    def _alone(self, item: T) -> R:
        with writing(self.engine) as conn:
            return self.write(conn, item)

    def _hand_on(self) -> None:
        """The first queued caller leads the next batch; with none queued, the next caller will."""
        with self._mutex:
            if self._pending:
                nxt = self._pending[0]
                nxt.lead = True
                nxt.ready.set()
            else:
                self._leading = False


_WRITERS: weakref.WeakKeyDictionary[Engine, dict[Any, GroupWriter[Any, Any]]] = weakref.WeakKeyDictionary()
_WRITERS_LOCK = threading.Lock()


def group_writer(engine: Engine, write: Callable[[Connection, T], R]) -> GroupWriter[T, R]:
    """The engine's one GroupWriter for ``write`` (made on first use)."""
    writers = _WRITERS.get(engine)
    writer = writers.get(write) if writers is not None else None
    if writer is None:
        with _WRITERS_LOCK:
            writer = _WRITERS.setdefault(engine, {}).setdefault(write, GroupWriter(engine, write))
    return writer
