"""The pickup slot: which day and time JNE collects an order, from the store's pickup block.

An order placed before the cutoff on a pickup day is collected that day at the pickup time;
otherwise on the next pickup day. Indonesia's public holidays are passed over (``skip_holidays``,
on by default; collective leave too with ``cuti_bersama: true``), from ``integration.pickup_days``. Everything is computed in the pickup's own time zone, because a
shop in Makassar (UTC+8) and one in Jakarta (UTC+7) see different dates for the same instant.

As a plug-in the rule ``provides`` the scope root ``pickup`` (``pickup.date``, ``pickup.time``) before
vars are worked out; it runs with its defaults (``from: store.pickup``) whenever an expression
reads ``pickup.*``, and its problems are filed under ``pickup``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integration.mapping.language.expressions import (
    EXPRESSION_FAILED,
    ROOT_NAMES,
    Expression,
    ExpressionError,
)
from integration.mapping.language.values import Refusal, text_of
from integration.mapping.rules.base import Applied, ConfiguredRule, LoadContext, RuleKind
from integration.pickup_days import holidays_known, next_pickup_day, skipped_holidays
from integration.problems import Origin, Problem, define

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The same defaults integration.yaml applies, so a store block without them behaves the same here.
DEFAULTS = {"timezone": "Asia/Jakarta", "cutoff": "15:00", "time": "16:00", "days": list(DAYS[:6])}
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")

NOT_A_CLOCK = define("pickup.not_a_time", en="pickup.{key} {value} is not a time of day like 15:00",
                     id="pickup.{key} {value} bukan jam seperti 15:00")
NOT_A_ZONE = define("pickup.not_a_zone", en="pickup.timezone {value} is not a time zone (e.g. Asia/Jakarta)",
                    id="pickup.timezone {value} bukan zona waktu (misalnya Asia/Jakarta)")
DAYS_NOT_A_LIST = define("pickup.days_not_a_list",
                         en="pickup.days must be a list such as [mon, tue, wed, thu, fri, sat]",
                         id="pickup.days harus berupa daftar seperti [mon, tue, wed, thu, fri, sat]")
NOT_A_DAY = define("pickup.not_a_day", en="pickup.days: {value} is not a day (mon, tue, ... sun)",
                   id="pickup.days: {value} bukan nama hari (mon, tue, ... sun)")
NO_BLOCK = define("pickup.no_block", en="store has no pickup block (timezone, cutoff, time, days)",
                  id="toko tidak punya blok pickup (timezone, cutoff, time, days)")
NO_CLOCK = define("pickup.no_clock", en="no current time given", id="waktu sekarang tidak diberikan")


class SlotError(Refusal):
    """The store's pickup block cannot give a slot: the problem says which key and why."""


@dataclass(frozen=True)
class Slot:
    """A pickup date (DD-MM-YYYY) and time (HH:MM) in the pickup's time zone."""

    date: str
    time: str

    def as_scope(self) -> dict[str, str]:
        """The slot as expressions see it: ``pickup.date``, ``pickup.time``."""
        return {"date": self.date, "time": self.time}


def _clock(block: dict[str, Any], key: str) -> time:
    raw = block.get(key)
    text = DEFAULTS[key] if raw is None else text_of(raw).strip()
    match = _HHMM.match(text)
    if not match:
        raise SlotError(NOT_A_CLOCK, key=key, value=repr(text[:20]))
    return time(int(match.group(1)), int(match.group(2)))


def _zone(block: dict[str, Any]) -> ZoneInfo:
    raw = block.get("timezone")
    name = DEFAULTS["timezone"] if raw is None else text_of(raw).strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise SlotError(NOT_A_ZONE, value=repr(name[:40])) from None


def _days(block: dict[str, Any]) -> set[int]:
    raw = block.get("days")
    if raw is None:
        raw = DEFAULTS["days"]
    if not isinstance(raw, list) or not raw:
        raise SlotError(DAYS_NOT_A_LIST)
    found: set[int] = set()
    for day in raw:
        key = text_of(day).strip().lower()[:3]
        if key not in DAYS:
            raise SlotError(NOT_A_DAY, value=repr(text_of(day)[:20]))
        found.add(DAYS.index(key))
    return found


def pickup_slot(block: Any, now: datetime) -> Slot:
    """The slot for an order seen at ``now`` (aware; a naive time is taken as UTC)."""
    if not isinstance(block, dict):
        raise SlotError(NO_BLOCK)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    # Cutoffs are whole minutes, so the slot only changes from one minute to the next: the worker
    # asks again for every order of a busy minute.
    days = block.get("days")
    key = (text_of(block.get("timezone")), text_of(block.get("cutoff")), text_of(block.get("time")),
           tuple(text_of(d) for d in days) if isinstance(days, list) else text_of(days),
           _skips_holidays(block), _cuti_bersama(block), int(now.timestamp() // 60))
    found = _RECENT.get(key)
    if found is None:
        found = _slot(block, now)
        if len(_RECENT) >= 256:
            _RECENT.clear()
        _RECENT[key] = found
    return found


_RECENT: dict[tuple[Any, ...], Slot] = {}


def _skips_holidays(block: dict[str, Any]) -> bool:
    return block.get("skip_holidays") is not False  # on unless the store says false


def _cuti_bersama(block: dict[str, Any]) -> bool:
    return block.get("cuti_bersama") is True  # off unless the store says true


def _first_day(block: dict[str, Any], now: datetime) -> tuple[date, date, time]:
    """(the first day the order could be collected, its pickup date, the pickup time)."""
    zone = _zone(block)
    cutoff = _clock(block, "cutoff")
    at = _clock(block, "time")
    days = _days(block)
    local = now.astimezone(zone)
    day = local.date()
    # today when it is a pickup day and the order came before the cutoff, else from tomorrow; a
    # public holiday (and, when the store asks, cuti bersama) is passed over: branches are closed
    start = day if day.weekday() in days and local.time().replace(tzinfo=None) < cutoff else day + timedelta(days=1)
    pickup = next_pickup_day(start, days, _skips_holidays(block), cuti_bersama=_cuti_bersama(block))
    return start, pickup, at


def _slot(block: dict[str, Any], now: datetime) -> Slot:
    _, day, at = _first_day(block, now)
    return Slot(day.strftime("%d-%m-%Y"), at.strftime("%H:%M"))


def holiday_notes(block: Any, now: datetime) -> list[str]:
    """What preview says about holidays for an order at ``now``: those the pickup passed over, or
    that the holiday list does not cover the year (then nothing is skipped)."""
    if not isinstance(block, dict) or not _skips_holidays(block):
        return []
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    try:
        start, pickup, _ = _first_day(block, now)
    except (SlotError, ValueError):
        return []  # the slot's own problem says what is wrong
    notes = [f"pickup moved past {h.day.strftime('%d-%m-%Y')} {h.name}"
             f" ({'cuti bersama' if h.cuti_bersama else 'public holiday'})"
             for h in skipped_holidays(start, pickup, cuti_bersama=_cuti_bersama(block))
             if h.day.weekday() in _days(block)]  # a Sunday holiday moved nothing
    notes += [f"Indonesia's holiday list has no decree for {year}: no holiday is skipped that year"
              for year in sorted({start.year, pickup.year}) if not holidays_known(year)]
    return notes


# -- the plug-in --------------------------------------------------------------------------------

@dataclass(frozen=True)
class PickupRule(ConfiguredRule):
    """Where the pickup block comes from (``store.pickup`` unless the mapping says otherwise)."""

    name = "pickup"
    provides = "pickup"
    origin: Origin | None  # None when not written: the store's own block is used
    source: Expression

    def apply(self, scope: dict[str, Any], values: dict[str, str], now: datetime) -> Applied:
        """``pickup.date`` and ``pickup.time`` for this order, or a problem under ``pickup``."""
        try:
            if not isinstance(now, datetime):
                raise SlotError(NO_CLOCK)
            return pickup_slot(self.source.evaluate(scope), now).as_scope(), []
        except SlotError as exc:
            return {}, [exc.problem("pickup", self.origin)]
        except ExpressionError as exc:
            return {}, [Problem("pickup", EXPRESSION_FAILED, {"error": str(exc)}, self.origin)]


def parse(settings: dict[str, Any], ctx: LoadContext) -> PickupRule | None:
    """Compile ``from`` (it cannot read ``pickup`` itself)."""
    source = ctx.expression(settings["from"], "from", roots=tuple(r for r in ROOT_NAMES if r != "pickup"))
    if source is None:
        return None
    return PickupRule(ctx.origin() if ctx.written else None, source)


KIND = RuleKind(name="pickup", settings={"from": "store.pickup"}, fills=(), parse=parse,
                provides=PickupRule.provides)
