"""Pickup days skip Indonesia's public holidays (lokal-id's decreed calendar)."""

from __future__ import annotations

from datetime import date

import pytest

from integration.pickup_days import holiday_on, holidays_known, next_pickup_day, skipped_holidays

WEEKDAYS_AND_SATURDAY = ["mon", "tue", "wed", "thu", "fri", "sat"]


def test_independence_day_is_skipped():
    # Monday 17 August 2026, Proklamasi Kemerdekaan
    assert next_pickup_day(date(2026, 8, 17), WEEKDAYS_AND_SATURDAY) == date(2026, 8, 18)
    assert holiday_on(date(2026, 8, 17)).name == "Proklamasi Kemerdekaan"


def test_without_skip_holidays_the_holiday_is_a_pickup_day():
    assert next_pickup_day(date(2026, 8, 17), WEEKDAYS_AND_SATURDAY, skip_holidays=False) == date(2026, 8, 17)


def test_idulfitri_runs_of_holidays_and_cuti_bersama():
    # Friday 20 March 2026 is cuti bersama, Saturday 21 and Sunday 22 libur nasional, Monday 23 and
    # Tuesday 24 cuti bersama again.
    friday = date(2026, 3, 20)
    assert next_pickup_day(friday, WEEKDAYS_AND_SATURDAY) == friday          # JNE works on cuti bersama
    assert next_pickup_day(date(2026, 3, 21), WEEKDAYS_AND_SATURDAY) == date(2026, 3, 23)
    assert next_pickup_day(friday, WEEKDAYS_AND_SATURDAY, cuti_bersama=True) == date(2026, 3, 25)
    passed = skipped_holidays(friday, date(2026, 3, 25), cuti_bersama=True)
    assert [h.day.day for h in passed] == [20, 21, 22, 23, 24]
    assert {h.name for h in passed} == {"Idulfitri 1447 H"}


def test_the_next_day_after_a_holiday_that_is_not_a_pickup_day():
    # Christmas 2026 is a Friday; with pickups Monday to Friday the next is Monday 28th
    assert next_pickup_day(date(2026, 12, 25), ["mon", "tue", "wed", "thu", "fri"]) == date(2026, 12, 28)
    assert next_pickup_day(date(2026, 12, 25), [0, 1, 2, 3, 4], include_today=False) == date(2026, 12, 28)


def test_a_year_without_a_decree_skips_nothing_and_says_so():
    assert holidays_known(2026) and holidays_known(2027)
    assert not holidays_known(2031)
    assert holiday_on(date(2031, 8, 17)) is None
    assert next_pickup_day(date(2031, 8, 18), WEEKDAYS_AND_SATURDAY) == date(2031, 8, 18)


def test_bad_days_are_named():
    with pytest.raises(ValueError, match="'funday' is not a day"):
        next_pickup_day(date(2026, 1, 1), ["funday"])
    with pytest.raises(ValueError, match="no pickup days"):
        next_pickup_day(date(2026, 1, 1), [])
