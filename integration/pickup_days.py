"""Pickup days that skip Indonesia's public holidays, from the holiday list of the ``lokal-id`` package.

JNE's branches do not collect on a national public holiday (libur nasional), so an order whose
pickup would fall on one is collected on the next pickup day that is not one. Collective leave
days (cuti bersama) are optional for private companies and JNE usually works through them, so they
are skipped only when a store asks (``cuti_bersama=True``).

``lokal.holidays`` carries the days the government decrees each year (SKB 3 Menteri), for the years
that have been decreed; for a year it does not know, no day is skipped and :func:`holidays_known`
says so, so a preview can warn instead of silently trusting a calendar that does not exist yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from lokal import holidays as _holidays

__all__ = ["DAYS", "Holiday", "holiday_on", "holidays_known", "next_pickup_day", "skipped_holidays"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class Holiday:
    """One public holiday: its date, its name as decreed, and whether it is cuti bersama."""

    day: date
    name: str
    cuti_bersama: bool


@lru_cache(maxsize=32)
def _year(year: int) -> dict[date, Holiday] | None:
    """The decreed holidays of ``year`` by date, or None when the package has no decree for it."""
    if year not in _holidays.HOLIDAY_YEARS:
        return None
    found: dict[date, Holiday] = {}
    for h in _holidays.get_holidays(year).holidays:
        day = date.fromisoformat(h.date)
        cuti = h.type == "cuti_bersama"
        # A day that is both keeps its libur nasional name: that is the one that closes branches.
        if day not in found or found[day].cuti_bersama:
            found[day] = Holiday(day, h.name, cuti)
    return found


def holidays_known(year: int) -> bool:
    """True when the holiday list covers ``year``."""
    return _year(year) is not None


def holiday_on(day: date, *, cuti_bersama: bool = False) -> Holiday | None:
    """The public holiday on ``day`` (cuti bersama only when asked), or None."""
    known = _year(day.year)
    found = known.get(day) if known else None
    if found is None or (found.cuti_bersama and not cuti_bersama):
        return None
    return found


def _weekdays(days: Iterable[str | int]) -> frozenset[int]:
    out: set[int] = set()
    for day in days:
        if isinstance(day, int) and 0 <= day <= 6:
            out.add(day)
            continue
        key = str(day).strip().lower()[:3]
        if key not in DAYS:
            raise ValueError(f"{day!r} is not a day (mon, tue, ... sun)")
        out.add(DAYS.index(key))
    if not out:
        raise ValueError("no pickup days: name at least one of mon, tue, ... sun")
    return frozenset(out)


def next_pickup_day(day: date, days: Iterable[str | int], skip_holidays: bool = True, *,
                    cuti_bersama: bool = False, include_today: bool = True) -> date:
    """The first pickup day from ``day`` (itself when ``include_today``) on one of ``days``.

    ``days`` are names (mon, tue...) or Python weekday numbers (Monday 0). With ``skip_holidays``
    a day that is a public holiday (and, with ``cuti_bersama``, collective leave) is passed over.
    """
    weekdays = _weekdays(days)
    current = day if include_today else day + timedelta(days=1)
    # A year has far fewer than 60 holidays in a row; the bound only guards against a bad calendar.
    for _ in range(366):
        if current.weekday() in weekdays and not (
                skip_holidays and holiday_on(current, cuti_bersama=cuti_bersama) is not None):
            return current
        current += timedelta(days=1)
    raise ValueError(f"no pickup day within a year of {day.isoformat()}")


def skipped_holidays(day: date, pickup: date, *, cuti_bersama: bool = False) -> list[Holiday]:
    """The holidays passed over between ``day`` and ``pickup`` (for preview: why the pickup moved)."""
    out = []
    current = day
    while current < pickup:
        found = holiday_on(current, cuti_bersama=cuti_bersama)
        if found is not None:
            out.append(found)
        current += timedelta(days=1)
    return out
