"""The pickup slot: which day and time JNE collects an order, from the store's pickup block.

An order placed before the cutoff on a pickup day is collected that day at the pickup time;
otherwise on the next pickup day. Everything is computed in the pickup's own time zone, because a
shop in Makassar (UTC+8) and one in Jakarta (UTC+7) see different dates for the same instant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from integration.mapping.language.values import text_of

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The same defaults integration.yaml applies, so a store block without them behaves the same here.
DEFAULTS = {"timezone": "Asia/Jakarta", "cutoff": "15:00", "time": "16:00", "days": list(DAYS[:6])}
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class SlotError(ValueError):
    """The store's pickup block cannot give a slot; ``str()`` says which key and why."""


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
        raise SlotError(f"pickup.{key} {text[:20]!r} is not a time of day like 15:00")
    return time(int(match.group(1)), int(match.group(2)))


def _zone(block: dict[str, Any]) -> ZoneInfo:
    raw = block.get("timezone")
    name = DEFAULTS["timezone"] if raw is None else text_of(raw).strip()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise SlotError(f"pickup.timezone {name[:40]!r} is not a time zone (e.g. Asia/Jakarta)") from None


def _days(block: dict[str, Any]) -> set[int]:
    raw = block.get("days")
    if raw is None:
        raw = DEFAULTS["days"]
    if not isinstance(raw, list) or not raw:
        raise SlotError("pickup.days must be a list such as [mon, tue, wed, thu, fri, sat]")
    found: set[int] = set()
    for day in raw:
        key = text_of(day).strip().lower()[:3]
        if key not in DAYS:
            raise SlotError(f"pickup.days: {text_of(day)[:20]!r} is not a day (mon, tue, ... sun)")
        found.add(DAYS.index(key))
    return found


def pickup_slot(block: Any, now: datetime) -> Slot:
    """The slot for an order seen at ``now`` (aware; a naive time is taken as UTC)."""
    if not isinstance(block, dict):
        raise SlotError("store has no pickup block (timezone, cutoff, time, days)")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    # Cutoffs are whole minutes, so the slot only changes from one minute to the next: the worker
    # asks again for every order of a busy minute.
    days = block.get("days")
    key = (text_of(block.get("timezone")), text_of(block.get("cutoff")), text_of(block.get("time")),
           tuple(text_of(d) for d in days) if isinstance(days, list) else text_of(days),
           int(now.timestamp() // 60))
    found = _RECENT.get(key)
    if found is None:
        found = _slot(block, now)
        if len(_RECENT) >= 256:
            _RECENT.clear()
        _RECENT[key] = found
    return found


_RECENT: dict[tuple[Any, ...], Slot] = {}


def _slot(block: dict[str, Any], now: datetime) -> Slot:
    zone = _zone(block)
    cutoff = _clock(block, "cutoff")
    at = _clock(block, "time")
    days = _days(block)
    local = now.astimezone(zone)
    day = local.date()
    if not (day.weekday() in days and local.time().replace(tzinfo=None) < cutoff):
        day += timedelta(days=1)
        while day.weekday() not in days:
            day += timedelta(days=1)
    return Slot(day.strftime("%d-%m-%Y"), at.strftime("%H:%M"))
