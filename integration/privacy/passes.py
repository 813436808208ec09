"""The erasure passes: ``prune`` (command and the worker's daily pass) and privacy requests, counted.

Each pass calls :mod:`integration.ledger.retention` with plain values from the configuration, counts
the orders erased in ``integration_personal_data_erased_total{reason}`` and then makes the erased
values unreadable in the database files too (``retention.compact``: SQLite WAL checkpoint,
PostgreSQL VACUUM).

The worker runs :class:`DailyPass` between its rounds: the retention pass once a day per process
(the first soon after start), and every minute a look for privacy requests a web request left
unfinished (a shop's erasure larger than its budget) and for deliveries the shop sent again for an
order its customer had erased; each is one or two indexed queries when nothing is due.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from integration import metrics
from integration.ledger import retention
from integration.ledger.retention import ErasureReason, PrivacyRequest, RequestKind
from integration.problems import Problem, define, render

log = logging.getLogger("integration.privacy")

DAY_S = 86400.0
REQUESTS_EVERY_S = 60.0
RETRY_AFTER_FAILURE_S = 600.0
FIRST_PASS_AFTER_S = 30.0  # let a starting worker book what is due first

NOT_BOOKED_ON_REQUEST = define(
    "privacy.erased_on_request",
    en="not booked: {who} asked for the customer's personal data to be erased (Shopify {topic}, {day}); "
       "it was erased",
    id="tidak dipesan: {who} meminta data pribadi pelanggan dihapus (Shopify {topic}, {day}); "
       "data itu sudah dihapus")
WHO = {RequestKind.CUSTOMER_REDACT: {"en": "the customer", "id": "pelanggan"},
       RequestKind.SHOP_REDACT: {"en": "the shop", "id": "toko"}}
TOPIC = {RequestKind.CUSTOMER_REDACT: "customers/redact", RequestKind.SHOP_REDACT: "shop/redact"}


@dataclass(frozen=True)
class RequestAction:
    """What a kind of privacy request erases (nothing for a data request: it is answered by a person)."""

    reason: ErasureReason | None
    whole_store: bool = False


ACTIONS: dict[RequestKind, RequestAction] = {
    RequestKind.CUSTOMER_REDACT: RequestAction(ErasureReason.CUSTOMER_REQUEST),
    RequestKind.SHOP_REDACT: RequestAction(ErasureReason.SHOP_REQUEST, whole_store=True),
    RequestKind.CUSTOMER_DATA_REQUEST: RequestAction(None),
}


@dataclass(frozen=True)
class PruneResult:
    """A retention pass: the ledger's report, requests finished and what was done to the files."""

    report: retention.PruneReport
    requests_finished: int = 0
    compacted: str = ""


def prune(engine: Engine, personal_days: float, language: str, now: datetime, *,
          dry_run: bool = False) -> PruneResult:
    """Erase what retention says is due (``dry_run``: count it), finish pending requests, compact."""
    report = retention.prune(engine, now, personal_days, dry_run=dry_run)
    if dry_run:
        return PruneResult(report)
    metrics.PERSONAL_ERASED.labels(reason=ErasureReason.RETENTION).inc(report.erased)
    finished = finish_pending(engine, language, now)
    compacted = ""
    # VACUUM also when a web request erased since the last pass: it only checkpoints, to answer fast.
    if report.deliveries or finished or retention.requests_done_since(engine, now - timedelta(days=1, hours=1)):
        compacted = retention.compact(engine)
    return PruneResult(report, finished, compacted)


def fulfil(engine: Engine, request: PrivacyRequest, language: str, now: datetime,
           limit: int | None = None) -> tuple[int, bool]:
    """Carry out a recorded request (erase what it asks, up to ``limit`` orders); (erased, finished)."""
    assert request.id is not None, "record the request first"
    action = ACTIONS[request.kind]
    if action.reason is None:
        retention.finish_request(engine, request.id, 0, now)
        return 0, True
    words = render(Problem("order", NOT_BOOKED_ON_REQUEST, {
        "who": WHO[request.kind].get(language, WHO[request.kind]["en"]), "topic": TOPIC[request.kind],
        "day": (request.received_at or now).date().isoformat()}), language)
    erased, finished = retention.erase_on_request(
        engine, request.store_id, action.reason, now, end_open_with=words, customer_ref=request.customer_ref,
        order_refs=request.orders, whole_store=action.whole_store, limit=limit)
    retention.finish_request(engine, request.id, erased, now if finished else None)
    metrics.PERSONAL_ERASED.labels(reason=action.reason).inc(erased)
    if erased:
        retention.compact(engine, vacuum=False)  # VACUUM is the daily pass's: a request must answer fast
    return erased, finished


def finish_pending(engine: Engine, language: str, now: datetime) -> int:
    """Carry out every request a web request left unfinished; how many were finished.

    Also erases deliveries that arrived after their customer's erasure (the shop sent the order again).
    """
    finished = 0
    for request in retention.pending_requests(engine):
        _, done = fulfil(engine, request, language, now)
        finished += done
    if retention.erase_late_on_request(engine, now):
        retention.compact(engine, vacuum=False)
    return finished


class DailyPass:
    """The worker's privacy hook: ``tick()`` between rounds; a clock comparison unless something is due."""

    def __init__(self, engine: Engine, personal_days: float, language: str,
                 clock: Callable[[], datetime], monotonic: Callable[[], float] = time.monotonic):
        self.engine = engine
        self.personal_days = personal_days
        self.language = language
        self.clock = clock
        self.monotonic = monotonic
        start = monotonic()
        self._next_prune = start + FIRST_PASS_AFTER_S
        self._next_requests = start

    def tick(self) -> None:
        """Run what is due: pending requests (every minute), the retention pass (daily); never raises."""
        now_s = self.monotonic()
        if now_s >= self._next_requests:
            self._next_requests = now_s + REQUESTS_EVERY_S
            self._guarded("privacy requests", self.run_requests, "_next_requests")
        if now_s >= self._next_prune:
            self._next_prune = now_s + DAY_S
            self._guarded("retention pass", self.run_prune, "_next_prune")

    def run_requests(self) -> int:
        """Finish what privacy requests left undone now; how many requests were finished."""
        return finish_pending(self.engine, self.language, self.clock())

    def run_prune(self) -> PruneResult:
        """One retention pass now, logged in one line (counts only)."""
        result = prune(self.engine, self.personal_days, self.language, self.clock())
        r = result.report
        log.info("retention pass: %d orders past %g days erased (%d deliveries rewritten, %d arrived after "
                 "their order's erasure), %d privacy requests finished%s", r.erased, self.personal_days,
                 r.deliveries, r.late_deliveries, result.requests_finished,
                 f"; {result.compacted}" if result.compacted else "")
        return result

    def _guarded(self, what: str, work: Callable[[], object], slot: str) -> None:
        try:
            work()
        except SQLAlchemyError as exc:  # the database is away: the worker's own loop says so too
            log.warning("%s not done: database unavailable (%s); again in %.0f s", what, type(exc).__name__,
                        RETRY_AFTER_FAILURE_S)
            setattr(self, slot, self.monotonic() + RETRY_AFTER_FAILURE_S)
