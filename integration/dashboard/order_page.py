"""Everything the page of one order shows, gathered from the ledger and the current mapping."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Connection

from integration.booking.writeback import writeback_stores
from integration.config import Config
from integration.dashboard import order_problems, queries
from integration.jne.fields import FIELD_NAMES
from integration.ledger.retention import ErasureReason
from integration.vocabulary import WritebackStatus

BODY_SHOWN_CHARS = 200_000  # a delivery is at most 2 MiB; the page shows the start of a huge one


@dataclass(frozen=True)
class FieldRow:
    """A JNE field: what the last attempt sent and what the mapping as it is now would send."""

    name: str
    sent: str | None
    now: str | None

    @property
    def changed(self) -> bool:
        """Both are known and differ (the mapping or the order changed since it was sent)."""
        return self.sent is not None and self.now is not None and self.sent != self.now


@dataclass
class Preview:
    """The current mapping applied to the stored order (as `jne-integration preview` would)."""

    verdict: str                     # "book", "needs_attention", "skip" or "unavailable"
    skip_reason: str | None = None
    problems: list[order_problems.ProblemRow] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Writeback:
    """The cnote written back to the shop: the row's state, the shop's words, each attempt."""

    row: Any | None                  # None: the store writes back but this order has no write-back yet
    messages: list[str]              # the problems in the owner's words (a refusal quotes the shop)
    attempts: list[Any]              # newest first

    @property
    def state(self) -> str:
        """pending / done / failed, or "not queued yet" before the worker found the booking."""
        return str(self.row.status) if self.row is not None else "not queued yet"

    @property
    def retryable(self) -> bool:
        """A failed write-back can be queued again (``writeback retry``)."""
        return self.row is not None and self.row.status == WritebackStatus.FAILED


@dataclass(frozen=True)
class MappingVersion:
    """The mapping files' version that produced the stored result, and the one in use now."""

    tried: str | None                # shipments.mapping_version: None before the worker mapped it
    current: str | None              # None: the store's mapping is not loaded in this process

    @property
    def differs(self) -> bool:
        """The mapping was edited since this order was last tried."""
        return bool(self.tried and self.current and self.tried != self.current)


@dataclass
class OrderPage:
    """The order page's content."""

    row: Any
    timezone: str
    problems: list[order_problems.ProblemRow]
    preview: Preview
    fields: list[FieldRow]
    attempts: list[Any]
    delivery: Any | None
    order: Any | None
    body_text: str
    headers_text: str
    candidates: list[order_problems.ProblemRow]
    sent_any: bool = False           # an attempt sent fields to JNE
    writeback: Writeback | None = None
    mapping: MappingVersion | None = None
    erased: str | None = None        # "personal data erased on <date> (<why>)", None when not erased

    @property
    def erased_on(self) -> str:
        """The day the personal data was erased, in the store's time zone ("" when not erased)."""
        return erased_day(self.row, self.timezone) or ""

    @property
    def preview_same(self) -> bool:
        """The current mapping finds exactly the problems already stored (say so instead of twice)."""
        return self.preview.problems == self.problems


def local_time(value: datetime | None, timezone: str) -> str:
    """``value`` in the store's time zone, e.g. ``2025-03-14 10:21 WIB``."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def store_timezone(config: Config, store_id: str) -> str:
    """The store's pickup time zone (how its owner reads the clock)."""
    store = config.stores.get(store_id)
    tz = (store.facts.get("pickup") or {}).get("timezone") if store is not None else None
    return tz or "Asia/Jakarta"


ERASURE_WHY = {ErasureReason.RETENTION: "retention period over",
               ErasureReason.CUSTOMER_REQUEST: "the customer asked (customers/redact)",
               ErasureReason.SHOP_REQUEST: "the shop asked (shop/redact)"}


def erased_day(row: Any, timezone: str) -> str | None:
    """The day (ISO, in ``timezone``) the order's personal data was erased; None when it was not."""
    when = getattr(row, "personal_erased_at", None)
    return when.astimezone(ZoneInfo(timezone)).date().isoformat() if when is not None else None


def erased_text(row: Any, timezone: str) -> str | None:
    """``personal data erased on <date> (<why>)`` for an erased order, else None."""
    day = erased_day(row, timezone)
    if day is None:
        return None
    return f"personal data erased on {day} ({ERASURE_WHY.get(row.erasure, row.erasure or 'erased')})"


def _writeback(conn: Connection, config: Config, row: Any) -> Writeback | None:
    wb = queries.writeback(conn, row.id)
    if wb is None and (row.status != "booked" or row.store_id not in writeback_stores(config)):
        return None
    messages = [str(m) for ms in dict(wb.errors or {}).values() for m in ms] if wb is not None else []
    return Writeback(wb, messages, queries.writeback_attempts(conn, row.id) if wb is not None else [])


def _mapping(config: Config, row: Any) -> MappingVersion:
    store = config.stores.get(row.store_id)
    mapping = getattr(store, "mapping", None)
    return MappingVersion(row.mapping_version, getattr(mapping, "version", None) or None)


def _preview(config: Config, row: Any, delivery: Any, order: Any, now: datetime) -> Preview:
    from integration.ledger.retention import erased_note
    from integration.pipeline import prepare

    if row.personal_erased_at is not None:
        return Preview("unavailable", note=f"No preview: {erased_note(row)}.")

    store = config.stores.get(row.store_id)
    if store is None:
        return Preview("unavailable", note=f"store {row.store_id!r} is not in the configuration any more")
    if delivery is None or not isinstance(order, dict):
        return Preview("unavailable", note="the stored delivery is not an order object")
    try:
        result = prepare(store, delivery.topic, order, now, delivery.received_at)
    except Exception as exc:  # noqa: BLE001 - the page must show, whatever the mapping does
        return Preview("unavailable", note=f"the mapping failed on this order ({type(exc).__name__})")
    problems = getattr(result, "problems", None)
    rows = (order_problems.rows({p.key: [p] for p in problems}) if problems
            else order_problems.rows(result.errors))
    if not result.book:
        return Preview("skip", result.skip_reason, [], dict(result.fields))
    return Preview("needs_attention" if rows else "book", None, rows, dict(result.fields))


def build(conn: Connection, config: Config, row: Any, now: datetime) -> OrderPage:
    """Gather the order page of shipment ``row``."""
    tz = store_timezone(config, row.store_id)
    delivery = queries.delivery(conn, row.delivery_id)
    attempts = queries.attempts(conn, row.id)
    order: Any = None
    body_text = headers_text = ""
    if delivery is not None:
        raw = bytes(delivery.body or b"")
        try:
            order = json.loads(raw)
            body_text = json.dumps(order, ensure_ascii=False, indent=2)
        except ValueError:
            body_text = raw.decode("utf-8", "replace")
        if len(body_text) > BODY_SHOWN_CHARS:
            body_text = body_text[:BODY_SHOWN_CHARS] + f"\n… ({len(body_text):,} characters in all)"
        headers_text = json.dumps(delivery.headers or {}, ensure_ascii=False, indent=2)
    preview = (Preview("unavailable", note="booked: the fields JNE received are shown")
               if row.status == "booked" else _preview(config, row, delivery, order, now))
    sent_attempt = next((a for a in attempts if a.request), None)
    sent = {str(k): str(v) for k, v in dict(sent_attempt.request).items()} if sent_attempt else {}
    names = [n for n in FIELD_NAMES if n in sent or n in preview.fields]
    names += sorted((set(sent) | set(preview.fields)) - set(names))
    fields = [FieldRow(n, sent.get(n), preview.fields.get(n) if row.status != "booked" else None)
              for n in names]
    problems = order_problems.rows(row.errors)
    candidates = list({p.field: p for p in reversed(problems + preview.problems) if p.candidates}.values())
    return OrderPage(row, tz, problems, preview, fields, attempts, delivery, order, body_text,
                     headers_text, candidates, bool(sent), _writeback(conn, config, row), _mapping(config, row),
                     erased_text(row, tz))
