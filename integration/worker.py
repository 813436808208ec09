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

Credentials: an account whose credentials are not yet proven in this process gets one call at a
time (a probe); once JNE answers anything but "credentials unknown" the account opens to full
concurrency. "Credentials unknown" blocks the account in the ledger; its other shipments are then
marked blocked without a call, so JNE sees one failed call per account, not one per order.

Graceful stop: SIGTERM/SIGINT stop new claims; calls already sent finish and are recorded; rows
claimed but not yet sent are handed back.
"""

from __future__ import annotations

import json
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

from integration import ledger, metrics, pipeline
from integration.config import EMBEDDED_SANDBOX, Config, JNEAccount, Store
from integration.jne.client import AUTH_FAILED, BOOKED, DUPLICATE, REJECTED, TRANSIENT, JNEClient
from integration.serving import ServerThread, serve_in_thread

log = logging.getLogger("integration.worker")

T = TypeVar("T")

# Gate answers.
GO, PROBE, BLOCKED, WAIT = "go", "probe", "blocked", "wait"
PROVES_CREDENTIALS = (BOOKED, DUPLICATE, REJECTED)  # JNE got past the credentials check
SYNC_BLOCKS_EVERY_S = 1.0
RECORD_RETRY_DELAYS_S = (0.2, 0.5, 1, 2, 4, 8)  # a booking is recorded through a short DB outage
REJECTED_SENT_CHARS = 1500  # of the fields sent, shown with a refusal that names no field


class AccountGate:
    """Per-account admission: one probe call while credentials are unproven, none while blocked."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._proven: set[str] = set()
        self._probing: set[str] = set()
        self._blocked: dict[str, tuple[str, int]] = {}  # key -> (reason, stamp)
        self._stamp = 0

    def token(self) -> int:
        """A stamp to take before reading the ledger's blocks; see :meth:`sync`."""
        with self._cond:
            self._stamp += 1
            return self._stamp

    def sync(self, blocked: dict[str, str], token: int) -> None:
        """Adopt the ledger's blocks (read after ``token`` was taken).

        A block this process set after the token was taken is kept even if the read missed it;
        a block lifted in the ledger (``replay``) makes the account unproven again: the next call
        is a probe.
        """
        with self._cond:
            for key, (_, stamp) in list(self._blocked.items()):
                if key not in blocked and stamp < token:
                    del self._blocked[key]
            for key, reason in blocked.items():
                if key not in self._blocked:
                    self._blocked[key] = (reason, token)
                self._proven.discard(key)
            self._cond.notify_all()

    def blocked_reason(self, key: str) -> str | None:
        """Why ``key`` is blocked, or None."""
        with self._cond:
            got = self._blocked.get(key)
            return got[0] if got else None

    def enter(self, key: str, timeout: float) -> str:
        """GO (proven), PROBE (you are the one call), BLOCKED, or WAIT (timed out waiting for a probe)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if key in self._blocked:
                    return BLOCKED
                if key in self._proven:
                    return GO
                if key not in self._probing:
                    self._probing.add(key)
                    return PROBE
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return WAIT
                self._cond.wait(remaining)

    def leave(self, key: str, probe: bool, outcome: str | None, reason: str = "") -> None:
        """Report how a call went (``outcome`` None: no call was made)."""
        with self._cond:
            if probe:
                self._probing.discard(key)
            if outcome == AUTH_FAILED:
                self._stamp += 1
                self._blocked[key] = (reason, self._stamp)
                self._proven.discard(key)
            elif outcome in PROVES_CREDENTIALS:
                self._proven.add(key)
            self._cond.notify_all()


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
        failures = 0
        while not stop.is_set():
            try:
                self._drain(None, stop)
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
        inflight: set[Future[str]] = set()
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

    def _process(self, c: ledger.Claim) -> str:
        """Take one claimed shipment to its next status; never raises."""
        try:
            return self._process_claim(c)
        except Exception as exc:  # noqa: BLE001 - a bug or an outage must not kill the worker
            log.exception("store=%s order=%s: worker error %s; will retry", c.store_id, c.order_ref,
                          type(exc).__name__)
            try:
                now = self.clock()
                ledger.finish(self.engine, c, self.worker_id, "queued", now,
                              next_attempt_at=now + timedelta(seconds=self._backoff(c.budget_used + 1)),
                              errors={"worker": [f"internal error ({type(exc).__name__}); retrying"]})
            except Exception:  # noqa: BLE001 - the lease runs out and the row comes back anyway
                pass
            return "error"

    def _process_claim(self, c: ledger.Claim) -> str:
        now = self.clock()
        store = self.config.stores.get(c.store_id)
        if store is None:
            return self._finish(c, "needs_attention", now, errors={"store": [
                f"store {c.store_id!r} is not in the configuration; add it back (or replay after "
                "moving the order to a configured store)"]})
        try:
            order = json.loads(c.body)
        except (ValueError, UnicodeDecodeError) as exc:
            return self._finish(c, "needs_attention", now, store=store, errors={"order": [
                f"the stored delivery is not JSON ({exc}); the shop must send the order again"]})
        if not isinstance(order, dict):
            return self._finish(c, "needs_attention", now, store=store, errors={"order": [
                f"the stored delivery is a JSON {_json_kind(order)}, not an order object"]})
        try:
            result = pipeline.prepare(store, c.topic, order, now, c.received_at)
        except Exception as exc:  # noqa: BLE001 - a mapping that crashes on odd data is the order's problem
            log.exception("store=%s order=%s: mapping raised", c.store_id, c.order_ref)
            return self._finish(c, "needs_attention", now, store=store, errors={"mapping": [
                f"the mapping failed on this order ({type(exc).__name__}: {exc})"]})
        if not result.book:
            return self._finish(c, "skipped", now, store=store,
                                skip_reason=result.skip_reason or "the trigger did not book this event")
        if result.errors:
            order_id = (result.fields or {}).get("ORDER_ID") or c.jne_order_id
            return self._finish(c, "needs_attention", now, store=store,
                                errors={k: list(v) for k, v in result.errors.items()},
                                where=dict(store=c.store_id, order=c.order_ref, order_id=order_id,
                                           duration=0.0))
        return self._book(c, store, dict(result.fields))

    def _book(self, c: ledger.Claim, store: Store, fields: dict[str, str]) -> str:
        account = store.jne
        key = account.key
        order_id = str(fields.get("ORDER_ID") or "")
        if not order_id:
            return self._finish(c, "needs_attention", self.clock(), store=store,
                                errors={"ORDER_ID": ["the mapping produced no ORDER_ID"]})
        call_lease = max(self.settings.lease_s, account.timeout_s + 10)
        while True:
            admitted = self.gate.enter(key, timeout=max(1.0, self.settings.lease_s / 3))
            if admitted != WAIT:
                break
            # Waiting for another thread's probe: keep the lease, or give the row back on stop.
            if self.stop_event.is_set():
                ledger.release(self.engine, c, self.worker_id, self.clock())
                return "released"
            if not ledger.extend_lease(self.engine, c, self.worker_id, self.clock(), self.settings.lease_s):
                return "lost"
        probe = admitted == PROBE
        outcome: str | None = None
        reason = ""
        try:
            if admitted == BLOCKED:
                return self._blocked_without_call(c, store, order_id, self.gate.blocked_reason(key) or "")
            if self.stop_event.is_set():
                ledger.release(self.engine, c, self.worker_id, self.clock())
                return "released"
            started_at = self.clock()
            begun = ledger.begin_attempt(self.engine, c, self.worker_id, order_id, key, fields,
                                         started_at, call_lease)
            if begun == "blocked":  # another process found the credentials rejected
                reason = ledger.blocked_accounts(self.engine).get(key, "")
                outcome = AUTH_FAILED  # so this process stops sending for the account at once
                return self._blocked_without_call(c, store, order_id, reason)
            if isinstance(begun, str):  # "lost": another worker holds the row now
                log.warning("store=%s order=%s: lease lost before the call; not sent", c.store_id, c.order_ref)
                return "lost"
            result = self._client(account).book(fields)
            outcome, reason = result.outcome, result.reason
            metrics.JNE_LATENCY.observe(result.duration_s)
            return self._outcome(c, store, account, fields, begun, result)
        finally:
            self.gate.leave(key, probe, outcome, reason)

    def _outcome(self, c: ledger.Claim, store: Store, account: JNEAccount, fields: dict[str, str],
                 begun: ledger.Attempt, result: Any) -> str:
        now = self.clock()
        order_id = fields["ORDER_ID"]
        key = account.key
        where = dict(store=c.store_id, order=c.order_ref, order_id=order_id, duration=result.duration_s,
                     attempt=ledger.AttemptResult(begun.id, result.outcome, result.duration_s,
                                                  result.http_status, result.reason, result.reply))
        if result.outcome == BOOKED and result.cnote:
            self._booked(c, order_id, result.cnote, key, now, where)
            return "booked"
        if result.outcome == DUPLICATE:
            if begun.sent_before and result.cnote:
                # Our earlier call booked it and its reply was lost: this is our booking.
                self._booked(c, order_id, result.cnote, key, now, where, lost_reply=True)
                return "booked"
            if begun.sent_before:
                msg = (f"JNE already holds ORDER_ID {order_id}, which this order sent before (the reply was "
                       "lost), but JNE returned no cnote; look the booking up at JNE before replaying")
            else:
                msg = (f"ORDER_ID {order_id} is already used at JNE by another booking (cnote "
                       f"{result.cnote or 'unknown'}); change order_prefix or the ORDER_ID rule and replay")
            return self._finish(c, "needs_attention", now, store=store, errors={"ORDER_ID": [msg]},
                                where=where, reason=msg)
        if result.outcome == AUTH_FAILED:
            msg = (f"JNE rejected the credentials of account {account.username} at {account.url}: "
                   f"{result.reason}. Fix jne.username/jne.api_key in the configuration, restart the "
                   "worker, then replay one order of this account: every blocked order resumes")
            return self._finish(c, "blocked", now, store=store, errors={"jne": [msg]},
                                block_reason=result.reason, where=where, reason=result.reason)
        if result.outcome == TRANSIENT:
            return self._transient(c, store, begun, result, now, where)
        # rejected (or a success without cnote, which is no booking)
        errors: dict[str, list[str]] = {"jne": [f"JNE refused ORDER_ID {order_id}: {result.reason}"]}
        for name, value in fields.items():
            if name in result.reason:
                errors.setdefault(name, []).append(f"JNE refused the value sent: {value!r}")
        if len(errors) == 1:  # JNE did not say which field: show what was sent
            sent = ", ".join(f"{k}={v}" for k, v in fields.items())
            errors["jne"].append(f"sent: {sent[:REJECTED_SENT_CHARS]}")
        return self._finish(c, "needs_attention", now, store=store, errors=errors, where=where,
                            reason=result.reason)

    def _transient(self, c: ledger.Claim, store: Store, begun: ledger.Attempt, result: Any,
                   now: datetime, where: dict[str, Any]) -> str:
        used, limit = begun.budget_used, self.settings.max_attempts
        if used >= limit:
            span = now - (begun.budget_since or now)
            msg = (f"JNE gave no booking after {used} attempts over {_human(span)}; last: {result.reason}. "
                   "Replay the order when JNE works again")
            return self._finish(c, "failed", now, store=store, errors={"jne": [msg]}, where=where,
                                reason=result.reason)
        delay = self._backoff(used)
        due = now + timedelta(seconds=delay)
        msg = f"attempt {used} of {limit}: {result.reason}; next try at {due.isoformat(timespec='seconds')}"
        return self._finish(c, "queued", now, store=store, errors={"jne": [msg]}, next_attempt_at=due,
                            where=where, reason=result.reason, label="retry")

    def _backoff(self, used: int) -> float:
        """Exponential from backoff_base_s, capped at backoff_max_s, with "equal jitter"."""
        s = self.settings
        delay = min(s.backoff_max_s, s.backoff_base_s * 2 ** max(0, used - 1))
        return delay / 2 + self._rng.uniform(0, delay / 2)

    # -- recording ----------------------------------------------------------------------------

    def _booked(self, c: ledger.Claim, order_id: str, cnote: str, key: str, now: datetime,
                where: dict[str, Any], lost_reply: bool = False) -> None:
        self._record(lambda: ledger.record_booked(self.engine, c.id, order_id, cnote, key, now,
                                                  attempt=where.get("attempt")))
        metrics.BOOKINGS.labels(outcome="booked").inc()
        log.info("store=%s order=%s ORDER_ID=%s outcome=booked cnote=%s duration=%.3fs%s",
                 where["store"], where["order"], order_id, cnote, where["duration"],
                 " (lost reply recovered: JNE had our earlier call)" if lost_reply else "")

    def _blocked_without_call(self, c: ledger.Claim, store: Store, order_id: str, reason: str) -> str:
        account = store.jne
        msg = (f"not sent: JNE account {account.username} at {account.url} is blocked ({reason or 'credentials rejected'}). "
               "Fix the credentials, restart the worker, then replay one order of this account")
        return self._finish(c, "blocked", self.clock(), store=store, errors={"jne": [msg]},
                            where=dict(store=c.store_id, order=c.order_ref, order_id=order_id, duration=0.0),
                            reason="account blocked, no call")

    def _finish(self, c: ledger.Claim, status: str, now: datetime, *, store: Store | None = None,
                errors: dict[str, list[str]] | None = None, skip_reason: str | None = None,
                next_attempt_at: datetime | None = None, block_reason: str | None = None,
                where: dict[str, Any] | None = None, reason: str = "", label: str | None = None) -> str:
        key = store.jne.key if store is not None else None
        written = self._record(lambda: ledger.finish(
            self.engine, c, self.worker_id, status, now, errors=errors if errors is not None else {},
            skip_reason=skip_reason, next_attempt_at=next_attempt_at, account_key=key,
            block_reason=block_reason,
            # A newer snapshot may fix what made this order unbookable: try that one instead.
            requeue_if_changed=status in ("needs_attention", "skipped", "failed"),
            attempt=(where or {}).get("attempt")))
        where = where or dict(store=c.store_id, order=c.order_ref, order_id=c.jne_order_id, duration=0.0)
        if written is None:
            log.warning("store=%s order=%s ORDER_ID=%s outcome=%s not recorded: the lease was lost",
                        where["store"], where["order"], where["order_id"], status)
            return "lost"
        if written != status:
            log.info("store=%s order=%s: a newer order snapshot arrived meanwhile; requeued",
                     where["store"], where["order"])
            return written
        metrics.BOOKINGS.labels(outcome=label or status).inc()
        detail = reason or skip_reason or "; ".join(m for v in (errors or {}).values() for m in v)
        level = logging.INFO if status == "skipped" else logging.WARNING
        log.log(level, "store=%s order=%s ORDER_ID=%s outcome=%s duration=%.3fs reason=%s",
                where["store"], where["order"], where["order_id"] or "-", label or status,
                where["duration"], detail)
        return status

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


def _human(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds / 3600:.1f} h"


def start_embedded_sandbox(config: Config) -> tuple[Config, ServerThread | None]:
    """Serve the sandbox JNE in this process when an account's url is ``embedded``; the config pointing at it."""
    if not any(a.url == EMBEDDED_SANDBOX for a in config.accounts().values()):
        return config, None
    from integration.jne.sandbox import create_sandbox_app

    server = serve_in_thread(create_sandbox_app())
    log.info("embedded sandbox JNE at %s/pickupcashless", server.url)
    return config.with_jne_url(EMBEDDED_SANDBOX, f"{server.url}/pickupcashless"), server
