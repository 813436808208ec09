"""The write-back loop: each booked order's cnote written to its shop once, beside the booking loop.

For every store with an ``api:`` block and write-back on, the loop

1. finds shipments booked since the store's discovery cursor and queues their write-back
   (``ledger.writeback.enqueue_booked``; a store's first look reaches ``FIRST_LOOK_BACK`` back);
2. claims due write-backs with a lease and runs up to ``WRITEBACK_THREADS_PER_CALL x concurrency``
   of them at once;
3. per write-back: the attempt is committed as ``sending`` with the claim, then the loop calls
   ``integration.shop.writeback.write_back`` (which looks at the shop first whenever an earlier
   attempt may have written: a worker killed mid-call, a lost reply), and records the result with
   :func:`decide`: done; a retry with backoff like a booking's (the shop's ``Retry-After`` when
   longer); or failed, with the shop's own words as problems the owner reads in ``status``.

A booking stays booked whatever happens here. Stopping (SIGTERM): no new claims; write-backs already
at the shop finish and are recorded.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from integration import ledger
from integration.booking import policy
from integration.config import Config, Store
from integration.ledger.writeback import WritebackClaim, WritebackSettlement
from integration.problems import Problem, define, messages
from integration.shop.settings import client_for
from integration.shop.shopify import ShopifyClient
from integration.shop.woocommerce import WooCommerceClient
from integration.shop.writeback import WritebackResult, write_back
from integration.vocabulary import WritebackStatus

log = logging.getLogger("integration.writeback")

FIRST_LOOK_BACK = timedelta(hours=24)  # write-back switched on: bookings this recent are written too
OVERLAP = timedelta(minutes=10)        # each look re-reads this much: a booking committed late is seen
SAVE_CURSOR_EVERY_S = 60.0
WRITEBACK_THREADS_PER_CALL = 2         # a write-back is two shop calls per one JNE call: twice the threads
RECORD_RETRY_DELAYS_S = (0.2, 0.5, 1, 2, 4)
FLUSH_EVERY_S = 0.25                   # finished write-backs are recorded in a batch this often

REFUSED = define(
    "writeback.refused",
    en="the shop did not take cnote {cnote}: {reason}{words}. The booking stands; fix it in the shop, then "
       "run `jne-integration writeback retry --store {store} {order}`",
    id="toko tidak menerima cnote {cnote}: {reason}{words}. Pemesanan JNE tetap berlaku; perbaiki di toko, "
       "lalu jalankan `jne-integration writeback retry --store {store} {order}`")
RETRYING = define(
    "writeback.retrying",
    en="write-back attempt {attempt} of {limit}: {reason}; next try at {next_at}",
    id="percobaan write-back {attempt} dari {limit}: {reason}; dicoba lagi pada {next_at}")
GAVE_UP = define(
    "writeback.gave_up",
    en="the shop did not take cnote {cnote} after {attempts} attempts; last: {reason}. The booking stands; "
       "run `jne-integration writeback retry --store {store} {order}` when the shop works again",
    id="toko tidak menerima cnote {cnote} setelah {attempts} percobaan; terakhir: {reason}. Pemesanan JNE "
       "tetap berlaku; jalankan `jne-integration writeback retry --store {store} {order}` saat toko normal")
INTERNAL_ERROR = define(
    "writeback.internal_error",
    en="internal error during the write-back ({detail}); retrying",
    id="kesalahan internal saat write-back ({detail}); dicoba lagi")

Client = ShopifyClient | WooCommerceClient
Result = tuple[WritebackClaim, WritebackSettlement]


def writeback_stores(config: Config) -> dict[str, Store]:
    """The stores whose bookings are written back to the shop (an ``api:`` block, write-back on)."""
    return {sid: s for sid, s in config.stores.items()
            if s.shop_api is not None and s.shop_api.api is not None and s.shop_api.writeback.enabled}


def decide(result: WritebackResult, held: WritebackClaim, retry: policy.Retry, now: datetime,
           rng: random.Random, language: str) -> WritebackSettlement:
    """The write-back's next state after one attempt (pure: no I/O); backoff like a booking's."""
    budget_used = held.budget_used
    words = "; ".join(result.shop_words)
    base = {"outcome": result.outcome, "reason": result.reason, "reply": words, "wrote": result.wrote,
            "calls": result.calls, "http_status": result.http_status}
    params = {"cnote": held.cnote, "store": held.store_id, "order": held.order_ref, "reason": result.reason}
    if result.outcome == "done":
        return WritebackSettlement(WritebackStatus.DONE, **base)
    if result.outcome == "refused":
        problem = Problem("writeback", REFUSED, {**params, "words": f" [{words}]" if words else ""})
        return _settled(WritebackStatus.FAILED, base, problem, language)
    if budget_used >= retry.max_attempts:
        problem = Problem("writeback", GAVE_UP, {**params, "attempts": budget_used})
        return _settled(WritebackStatus.FAILED, base, problem, language)
    delay = max(policy.backoff(budget_used, retry, rng), result.retry_after_s or 0.0)
    due = now + timedelta(seconds=delay)
    problem = Problem("writeback", RETRYING, {"attempt": budget_used, "limit": retry.max_attempts,
                                              "reason": result.reason, "next_at": due.isoformat(timespec="seconds")})
    return _settled(WritebackStatus.PENDING, base, problem, language, next_attempt_at=due)


def _settled(status: WritebackStatus, base: dict[str, Any], problem: Problem, language: str,
             next_attempt_at: datetime | None = None) -> WritebackSettlement:
    return WritebackSettlement(status, **base, next_attempt_at=next_attempt_at,
                               errors=messages([problem], language), problems=[problem.as_dict()])


class WritebackLoop:
    """Writes the cnote of every booked order of the write-back stores to its shop, exactly once."""

    def __init__(self, config: Config, engine: Engine, worker_id: str,
                 clock: Callable[[], datetime] | None = None,
                 clients: Callable[[Store], Client] | None = None):
        self.config = config
        self.engine = engine
        self.worker_id = worker_id
        self.clock = clock or ledger.utcnow
        self.stores = writeback_stores(config)
        self.settings = config.worker
        self.threads = max(1, WRITEBACK_THREADS_PER_CALL * self.settings.concurrency)
        self.retry = policy.Retry(self.settings.max_attempts, self.settings.backoff_base_s,
                                  self.settings.backoff_max_s)
        self.language = config.language
        self._make_client = clients or _default_client
        self._clients: dict[str, Client] = {}
        self._clients_lock = threading.Lock()
        self._rng = random.Random()
        self._cursors: dict[str, datetime] = {}
        self._saved_at = 0.0
        self._looked_at = 0.0
        self.stop_event = threading.Event()

    # -- loops ------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Queue new bookings, then write back everything due now; how many write-backs were attempted."""
        self.discover(save=True)
        return self._drain(self.stop_event, until_idle=True)

    def run(self, stop: threading.Event) -> None:
        """Discover and write back until ``stop`` is set; then let the calls in flight finish."""
        self.stop_event = stop
        log.info("write-back loop %s: stores %s, up to %d at once", self.worker_id, ", ".join(self.stores),
                 self.threads)
        failures = 0
        while not stop.is_set():
            try:
                self._drain(stop, until_idle=False)
                failures = 0
            except SQLAlchemyError as exc:
                failures += 1
                log.warning("write-back loop: database unavailable (%s); retrying", type(exc).__name__)
                stop.wait(min(30.0, self.settings.poll_s * 2 ** min(failures, 6)))
        self.close()
        log.info("write-back loop %s stopped", self.worker_id)

    def close(self) -> None:
        """Close the shops' connection pools."""
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def discover(self, save: bool = False) -> int:
        """Queue the write-back of shipments booked since each store's cursor; how many were queued."""
        now = self.clock()
        added = 0
        for store_id in self.stores:
            since = self._cursors.get(store_id)
            if since is None:
                since = ledger.writeback.cursor(self.engine, store_id, ledger.writeback.DISCOVERY) \
                    or now - FIRST_LOOK_BACK
            added += ledger.writeback.enqueue_booked(self.engine, store_id, since, now)
            self._cursors[store_id] = max(since, now - OVERLAP)
        if save or time.monotonic() - self._saved_at > SAVE_CURSOR_EVERY_S:
            for store_id, position in self._cursors.items():
                ledger.writeback.set_cursor(self.engine, store_id, ledger.writeback.DISCOVERY, position, now)
            self._saved_at = time.monotonic()
        return added

    def _drain(self, stop: threading.Event, until_idle: bool) -> int:
        """Keep up to ``threads`` write-backs going until none is due (``until_idle``) or ``stop``.

        Results are recorded in batches (``ledger.writeback.finish``), at most ``FLUSH_EVERY_S`` after
        they came: a write-back recorded late, or never (the worker killed), costs one more look at the
        shop, never a second write.
        """
        processed = 0
        inflight: set[Future[Result | None]] = set()
        results: list[Result] = []
        flushed = time.monotonic()
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="writeback") as pool:
            try:
                while True:
                    room = self.threads - len(inflight)
                    # Claims in batches (half the threads free, or none busy), new bookings looked for
                    # once a poll: not a statement per finished write-back.
                    if (room > self.threads // 2 or not inflight) and not stop.is_set():
                        if until_idle or time.monotonic() - self._looked_at >= self.settings.poll_s:
                            self.discover()
                            self._looked_at = time.monotonic()
                        for held in ledger.writeback.claim(self.engine, self.worker_id, self.clock(),
                                                           self._lease_s(), room, list(self.stores)):
                            inflight.add(pool.submit(self._attempt, held))
                    if not inflight:
                        self._flush(results)
                        if until_idle or stop.is_set():
                            return processed
                        stop.wait(self.settings.poll_s)
                        continue
                    done, inflight = wait(inflight, timeout=self.settings.poll_s, return_when=FIRST_COMPLETED)
                    processed += len(done)
                    results += [r for r in (f.result() for f in done) if r is not None]
                    if results and time.monotonic() - flushed >= FLUSH_EVERY_S:
                        self._flush(results)
                        flushed = time.monotonic()
            finally:
                # Write-backs at the shop finish and are recorded, also on stop or a database error.
                results += [r for r in (f.result() for f in wait(inflight).done) if r is not None]
                self._flush(results)

    # -- one write-back -----------------------------------------------------------------------------

    def _lease_s(self) -> float:
        # A write-back is at most three calls, each within the client's timeout, plus the rate-limit
        # waits the client may do inside them.
        longest = max((s.shop_api.api.timeout_s for s in self.stores.values()), default=15.0)
        return max(self.settings.lease_s, 3 * longest + 40)

    def _attempt(self, held: WritebackClaim) -> Result | None:
        """Write one claimed cnote to its shop; what to record (None: handed back unsent). Never raises."""
        if self.stop_event.is_set():
            try:
                ledger.writeback.release(self.engine, held, self.worker_id, self.clock())
            except SQLAlchemyError:
                pass  # its lease runs out instead
            return None
        store = self.stores[held.store_id]
        started = time.monotonic()
        try:
            result = write_back(self._client(store), held.order_ref, held.cnote, store.shop_api.writeback,
                                may_have_written=held.may_have_written)
        except ValueError as exc:  # an order id the platform cannot have (e.g. not a number): a person looks
            result = WritebackResult("refused", f"cannot write back to order {held.order_ref!r}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a bug: retried with backoff, looking first
            log.exception("store=%s order=%s: write-back raised", held.store_id, held.order_ref)
            result = WritebackResult("retry", f"internal error ({type(exc).__name__})")
        settled = decide(result, held, self.retry, self.clock(), self._rng, self.language)
        return held, replace(settled, duration_s=time.monotonic() - started)

    def _flush(self, results: list[Result]) -> None:
        """Record the finished attempts (and empty ``results``)."""
        if not results:
            return
        batch = list(results)
        results.clear()
        self._record(lambda: ledger.writeback.finish(self.engine, self.worker_id, batch, self.clock()))

    def _record(self, write: Callable[[], Any]) -> None:
        """A result the shop already gave is recorded through a short database outage."""
        for delay in RECORD_RETRY_DELAYS_S:
            try:
                write()
                return
            except SQLAlchemyError as exc:
                log.warning("ledger write failed (%s); retrying in %.1fs", type(exc).__name__, delay)
                time.sleep(delay)
        write()

    def _client(self, store: Store) -> Client:
        with self._clients_lock:
            client = self._clients.get(store.id)
            if client is None:
                client = self._clients[store.id] = self._make_client(store)
            return client


def _default_client(store: Store) -> Client:
    assert store.shop_api is not None and store.shop_api.api is not None
    return client_for(store.platform, store.shop_api.api)
