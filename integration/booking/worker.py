"""The booking worker: claim -> trigger, mapping, schema -> JNE -> ledger; backoff, leases, blocks.

Exactly once at JNE, however the worker dies:

- A shipment is claimed with a lease (``ledger.claim``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
  one exclusive statement on SQLite), so two workers never hold the same row.
- Before each JNE call the attempt is committed as ``sending`` with its ORDER_ID
  (``ledger.begin_attempt``). If the worker is killed mid-call the lease runs out, another worker
  sends the same ORDER_ID again, and JNE answers "duplicate" with the first cnote: because this row
  has a ``sending`` attempt for that ORDER_ID, that is this row's own booking (the lost-reply rule).
  A "duplicate" for an ORDER_ID this row never sent is a collision and needs a person.
- Results are written only while the worker still holds the lease, except a booking, which is a
  fact and always recorded.

What a JNE answer means (booked, retry when, blocked, needs attention) is decided by
:mod:`integration.booking.policy`, a pure function; this module does the I/O around it. Calls are
admitted per account by :mod:`integration.booking.gate` (one probe while credentials are unproven),
so bad credentials cost JNE one failed call per account, not one per order.

Graceful stop: SIGTERM/SIGINT stop new claims; calls already sent finish and are recorded; rows
claimed but not yet sent are handed back.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from integration import json_body, ledger, metrics, pipeline
from integration.booking import policy, shop_loops
from integration.booking.gate import AccountGate, Admission
from integration.config import Config, JNEAccount, Store
from integration.jne.client import JNEClient
from integration.privacy.logs import exc_info_for_log, reason_for_log
from integration.privacy.passes import DailyPass
from integration.problems import Problem, define, messages, render
from integration.vocabulary import BookingOutcome, JNEOutcome, ShipmentStatus

log = logging.getLogger("integration.worker")

T = TypeVar("T")

SYNC_BLOCKS_EVERY_S = 1.0
RECORD_RETRY_DELAYS_S = (0.2, 0.5, 1, 2, 4, 8)  # a booking is recorded through a short DB outage

STORE_UNKNOWN = define(
    "delivery.store_unknown",
    en="store {store!r} is not in the configuration; add it back (or replay after moving the order "
       "to a configured store)",
    id="toko {store!r} tidak ada di konfigurasi; tambahkan lagi (atau replay setelah memindahkan "
       "pesanan ke toko yang terkonfigurasi)")
NOT_JSON = define(
    "delivery.not_json",
    en="the stored delivery is not JSON ({detail}); the shop must send the order again",
    id="kiriman yang tersimpan bukan JSON ({detail}); toko harus mengirim pesanan ini lagi")
NOT_AN_ORDER = define(
    "delivery.not_an_object",
    en="the stored delivery is a JSON {kind}, not an order object",
    id="kiriman yang tersimpan adalah JSON {kind}, bukan objek pesanan")
MAPPING_CRASHED = define(
    "mapping.crashed",
    en="the mapping stopped on this order with an internal error (the service's log has the details); "
       "replay it after an update, and report it if it repeats",
    id="mapping berhenti pada pesanan ini karena kesalahan internal (detailnya ada di log layanan); "
       "replay setelah pembaruan, dan laporkan bila terulang")
NO_ORDER_ID = define(
    "mapping.no_order_id",
    en="the mapping produced no ORDER_ID",
    id="mapping tidak menghasilkan ORDER_ID")
INTERNAL_ERROR = define(
    "worker.internal_error",
    en="internal error ({detail}); retrying",
    id="kesalahan internal ({detail}); dicoba lagi")


class Worker:
    """Books due shipments with ``config.worker.concurrency`` concurrent JNE calls."""

    def __init__(self, config: Config, engine: Engine, worker_id: str | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.config = config
        self.engine = engine
        self.settings = config.worker
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clock = clock or ledger.utcnow
        self.gate = AccountGate()
        self.stop_event = threading.Event()
        self._clients: dict[str, JNEClient] = {}
        self._clients_lock = threading.Lock()
        self._rng = random.Random()
        self._last_sync = 0.0
        self.retry = policy.Retry(self.settings.max_attempts, self.settings.backoff_base_s,
                                  self.settings.backoff_max_s)
        self.language = getattr(config, "language", "en")
        # Personal data past retention, and privacy requests a web request left unfinished.
        self.privacy = DailyPass(engine, config.retention.personal_days, self.language, self.clock)

    # -- loops --------------------------------------------------------------------------------

    def run_once(self, limit: int | None = None) -> int:
        """Claim and process due shipments until none is due (or ``limit``); how many were processed."""
        return self._drain(limit, self.stop_event)

    def run(self, stop: threading.Event | None = None) -> None:
        """Process due shipments, polling every ``poll_s``, until ``stop`` is set; then finish in-flight calls."""
        stop = stop or self.stop_event
        self.stop_event = stop
        log.info("worker %s started: concurrency %d, stores %s", self.worker_id,
                 self.settings.concurrency, ", ".join(self.config.stores) or "-")
        shop = shop_loops.start(self.config, self.engine, self.worker_id, stop, self.clock)  # write-back, reconcile
        failures = 0
        while not stop.is_set():
            try:
                self._drain(None, stop)
                self.privacy.tick()  # a clock comparison, unless its daily pass is due
                failures = 0
            except SQLAlchemyError as exc:
                # The database is away: keep the process, try again with a growing pause.
                failures += 1
                log.warning("worker %s: database unavailable (%s); retrying", self.worker_id,
                            type(exc).__name__)
                stop.wait(min(30.0, self.settings.poll_s * 2 ** min(failures, 6)))
                continue
            stop.wait(self.settings.poll_s)
        self.close()
        shop.join()  # their calls at the shop finish and are recorded too
        log.info("worker %s stopped", self.worker_id)

    def install_signal_handlers(self, stop: threading.Event | None = None) -> threading.Event:
        """SIGTERM/SIGINT set ``stop``: no new claims, in-flight calls finish and are recorded.

        A second signal is handled the default way (stop at once); the lost-reply rule keeps that
        safe. Must be called from the main thread.
        """
        stop = stop or self.stop_event
        self.stop_event = stop

        def handler(signum: int, _frame: Any) -> None:
            log.info("worker %s: %s received, finishing in-flight bookings", self.worker_id,
                     signal.Signals(signum).name)
            stop.set()
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        return stop

    def close(self) -> None:
        """Close the JNE connection pools."""
        with self._clients_lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def _drain(self, limit: int | None, stop: threading.Event) -> int:
        concurrency = max(1, self.settings.concurrency)
        # Claim ahead, up to two rounds of calls, in batches: one claim statement per half round
        # instead of one per finished call. Rows waiting here hold a lease like rows in flight.
        ahead = 2 * concurrency
        processed = 0
        buffer: deque[ledger.Claim] = deque()
        inflight: set[Future[BookingOutcome]] = set()
        more = True  # the last claim got all it asked for: there may be more due
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="book") as pool:
            try:
                while True:
                    room = ahead - len(buffer) - len(inflight)
                    if limit is not None:
                        room = min(room, limit - processed - len(buffer) - len(inflight))
                    wanted = room >= concurrency // 2 + 1 or (not buffer and room > 0)
                    if wanted and not stop.is_set() and (more or not inflight):
                        self._sync_blocks()
                        claims = ledger.claim(self.engine, self.worker_id, self.clock(),
                                              self.settings.lease_s, room)
                        more = len(claims) == room
                        buffer.extend(claims)
                    if stop.is_set():
                        while buffer:  # stopping: hand back what was claimed but not started
                            ledger.release(self.engine, buffer.popleft(), self.worker_id, self.clock())
                    while buffer and len(inflight) < concurrency:
                        inflight.add(pool.submit(self._process, buffer.popleft()))
                    if not inflight:
                        return processed
                    done, inflight = wait(inflight, timeout=0.5, return_when=FIRST_COMPLETED)
                    processed += len(done)
                    more = more or bool(done)
            finally:
                # On an error (database away) the calls already made still finish and are recorded.
                wait(inflight)
                for c in buffer:
                    try:
                        ledger.release(self.engine, c, self.worker_id, self.clock())
                    except SQLAlchemyError:
                        pass  # its lease runs out instead

    def _sync_blocks(self) -> None:
        if time.monotonic() - self._last_sync < SYNC_BLOCKS_EVERY_S:
            return
        token = self.gate.token()
        self.gate.sync(ledger.blocked_accounts(self.engine), token)
        self._last_sync = time.monotonic()

    # -- one shipment -------------------------------------------------------------------------

    def _process(self, c: ledger.Claim) -> BookingOutcome:
        """Take one claimed shipment to its next status; never raises."""
        try:
            return self._process_claim(c)
        except Exception as exc:  # noqa: BLE001 - a bug or an outage must not kill the worker
            log.error("store=%s order=%s: worker error %s; will retry", c.store_id, c.order_ref,
                      type(exc).__name__, exc_info=exc_info_for_log(exc))
            now = self.clock()
            problem = Problem("worker", INTERNAL_ERROR, {"detail": type(exc).__name__})
            retry = ledger.Settlement(ShipmentStatus.QUEUED, errors=self._words([problem]),
                                      problems=[problem.as_dict()],
                                      next_attempt_at=now + timedelta(seconds=policy.backoff(
                                          c.budget_used + 1, self.retry, self._rng)))
            try:
                ledger.finish(self.engine, c, self.worker_id, retry, now)
            except Exception:  # noqa: BLE001 - the lease runs out and the row comes back anyway
                pass
            return BookingOutcome.ERROR

    def _process_claim(self, c: ledger.Claim) -> BookingOutcome:
        store = self.config.stores.get(c.store_id)
        if store is None:
            return self._attention(c, None, Problem("store", STORE_UNKNOWN, {"store": c.store_id}))
        try:
            order = json_body.loads(c.body)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._attention(c, store, Problem("order", NOT_JSON, {"detail": str(exc)}))
        if not isinstance(order, dict):
            return self._attention(c, store, Problem("order", NOT_AN_ORDER, {"kind": _json_kind(order)}))
        try:
            result = pipeline.prepare(store, c.topic, order, self.clock(), c.received_at)
        except Exception as exc:  # noqa: BLE001 - a mapping that crashes on odd data is the order's problem
            log.error("store=%s order=%s: mapping raised", c.store_id, c.order_ref, exc_info=exc_info_for_log(exc))
            return self._attention(c, store, Problem("mapping", MAPPING_CRASHED, {"error": type(exc).__name__}))
        if not result.book:
            reason = render(result.skip, self.language) if result.skip is not None else result.skip_reason
            skip = policy.Decision(ShipmentStatus.SKIPPED, BookingOutcome.SKIPPED,
                                   skip_reason=reason or "the trigger did not book this event")
            return self._settle(c, store, skip, version=result.mapping_version)
        # The ORDER_ID is recorded whatever happens next, so `status` shows it before booking too.
        order_id = (result.fields or {}).get("ORDER_ID") or c.jne_order_id
        if result.problems:
            return self._attention(c, store, *result.problems, order_id=order_id, version=result.mapping_version)
        return self._book(c, store, dict(result.fields), result.mapping_version)

    def _attention(self, c: ledger.Claim, store: Store | None, *problems: Problem,
                   order_id: str | None = None, version: str | None = None) -> BookingOutcome:
        decision = policy.Decision(ShipmentStatus.NEEDS_ATTENTION, BookingOutcome.NEEDS_ATTENTION, problems)
        return self._settle(c, store, decision, order_id=order_id, version=version)

    def _book(self, c: ledger.Claim, store: Store, fields: dict[str, str], version: str | None = None) -> BookingOutcome:
        account = store.jne
        key = account.key
        order_id = str(fields.get("ORDER_ID") or "")
        if not order_id:
            return self._attention(c, store, Problem("ORDER_ID", NO_ORDER_ID), version=version)
        call_lease = max(self.settings.lease_s, account.timeout_s + 10)
        while True:
            admitted = self.gate.enter(key, timeout=max(1.0, self.settings.lease_s / 3))
            if admitted is not Admission.WAIT:
                break
            # Waiting for another thread's probe: keep the lease, or give the row back on stop.
            if self.stop_event.is_set():
                ledger.release(self.engine, c, self.worker_id, self.clock())
                return BookingOutcome.RELEASED
            if not ledger.extend_lease(self.engine, c, self.worker_id, self.clock(), self.settings.lease_s):
                return BookingOutcome.LOST
        probe = admitted is Admission.PROBE
        outcome = None
        reason = ""
        try:
            if admitted is Admission.BLOCKED:
                return self._blocked_without_call(c, store, order_id, self.gate.blocked_reason(key) or "")
            if self.stop_event.is_set():
                ledger.release(self.engine, c, self.worker_id, self.clock())
                return BookingOutcome.RELEASED
            try:
                begun = ledger.begin_attempt(self.engine, c, self.worker_id, order_id, key, fields,
                                             self.clock(), call_lease, mapping_version=version)
            except ledger.AccountBlocked:  # another process found the credentials rejected
                reason = ledger.blocked_accounts(self.engine).get(key, "")
                outcome = JNEOutcome.AUTH_FAILED  # so this process stops sending for it at once
                return self._blocked_without_call(c, store, order_id, reason)
            except ledger.LeaseLost:
                log.warning("store=%s order=%s: lease lost before the call; not sent", c.store_id, c.order_ref)
                return BookingOutcome.LOST
            answer = self._client(account).book(fields)
            outcome, reason = answer.outcome, answer.reason
            metrics.JNE_LATENCY.observe(answer.duration_s)
            call = policy.Call(order_id=order_id, sent_before=begun.sent_before, budget_used=begun.budget_used,
                               budget_since=begun.budget_since, fields=fields, username=account.username,
                               url=account.url)
            decision = policy.decide(answer, call, self.retry, self.clock(), self._rng)
            attempt = ledger.AttemptResult(begun.id, answer.outcome, answer.duration_s, answer.http_status,
                                           answer.reason, answer.reply)
            return self._settle(c, store, decision, order_id=order_id, duration=answer.duration_s,
                                attempt=attempt, reason=answer.reason, version=version)
        finally:
            self.gate.leave(key, probe, outcome, reason)

    def _blocked_without_call(self, c: ledger.Claim, store: Store, order_id: str, reason: str) -> BookingOutcome:
        decision = policy.blocked_without_call(store.jne.username, store.jne.url, reason)
        return self._settle(c, store, decision, order_id=order_id, reason="account blocked, no call")

    # -- recording ----------------------------------------------------------------------------

    def _settle(self, c: ledger.Claim, store: Store | None, decision: policy.Decision, *,
                order_id: str | None = None, duration: float = 0.0,
                attempt: ledger.AttemptResult | None = None, reason: str = "",
                version: str | None = None) -> BookingOutcome:
        """Record ``decision`` for the claimed shipment, count it and log one line; what happened."""
        now = self.clock()
        key = store.jne.key if store is not None else None
        order_id = order_id or c.jne_order_id
        if decision.status is ShipmentStatus.BOOKED:
            assert decision.cnote and order_id
            self._record(lambda: ledger.record_booked(self.engine, c.id, order_id, decision.cnote, key, now,
                                                      attempt=attempt))
            metrics.BOOKINGS.labels(outcome=BookingOutcome.BOOKED).inc()
            log.info("store=%s order=%s ORDER_ID=%s outcome=booked cnote=%s duration=%.3fs%s",
                     c.store_id, c.order_ref, order_id, decision.cnote, duration,
                     " (lost reply recovered: JNE had our earlier call)" if decision.lost_reply else "")
            return BookingOutcome.BOOKED
        settlement = ledger.Settlement(
            decision.status, errors=self._words(decision.problems),
            problems=[p.as_dict() for p in decision.problems], skip_reason=decision.skip_reason,
            next_attempt_at=decision.next_attempt_at, block_reason=decision.block_reason,
            jne_order_id=order_id, mapping_version=version or None)
        try:
            written = self._record(lambda: ledger.finish(self.engine, c, self.worker_id, settlement, now,
                                                         account_key=key, attempt=attempt))
        except ledger.LeaseLost:
            log.warning("store=%s order=%s ORDER_ID=%s outcome=%s not recorded: the lease was lost",
                        c.store_id, c.order_ref, order_id or "-", decision.label)
            return BookingOutcome.LOST
        if written is not decision.status:
            log.info("store=%s order=%s: a newer order snapshot arrived meanwhile; requeued",
                     c.store_id, c.order_ref)
            return BookingOutcome.REQUEUED
        metrics.BOOKINGS.labels(outcome=decision.label).inc()
        # Codes and field names only: the owner's words and JNE's own may quote the customer's
        # name, address or phone, which do not belong in logs.
        detail = (reason_for_log(reason) if reason else decision.skip_reason
                  or ", ".join(f"{p.key}:{p.code}" for p in decision.problems))
        level = logging.INFO if decision.status is ShipmentStatus.SKIPPED else logging.WARNING
        log.log(level, "store=%s order=%s ORDER_ID=%s outcome=%s duration=%.3fs reason=%s",
                c.store_id, c.order_ref, order_id or "-", decision.label, duration, detail)
        return decision.label

    def _words(self, problems: Any) -> dict[str, list[str]]:
        return messages(problems, self.language)

    def _record(self, write: Callable[[], T]) -> T:
        """Run a ledger write, retrying briefly: a result JNE already gave must not be lost to a blip."""
        for delay in RECORD_RETRY_DELAYS_S:
            try:
                return write()
            except SQLAlchemyError as exc:
                log.warning("ledger write failed (%s); retrying in %.1fs", type(exc).__name__, delay)
                time.sleep(delay)
        return write()

    def _client(self, account: JNEAccount) -> JNEClient:
        with self._clients_lock:
            client = self._clients.get(account.key)
            if client is None:
                client = JNEClient(account.url, account.username, account.api_key, timeout_s=account.timeout_s)
                self._clients[account.key] = client
            return client


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string" if isinstance(value, str) else "array"
