"""The pickup slot: same day before the cutoff, else the next pickup day, in the pickup's own zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from integration.mapping.rules.pickup import SlotError, pickup_slot

BLOCK = {"timezone": "Asia/Jakarta", "cutoff": "15:00", "time": "16:00",
         "days": ["mon", "tue", "wed", "thu", "fri", "sat"]}
WIB = timezone(timedelta(hours=7))


def at(y, mo, d, h, mi, tz=WIB):
    return datetime(y, mo, d, h, mi, tzinfo=tz)


def test_before_the_cutoff_on_a_pickup_day_is_that_day():
    slot = pickup_slot(BLOCK, at(2025, 3, 14, 14, 59))  # Friday
    assert (slot.date, slot.time) == ("14-03-2025", "16:00")


def test_at_or_after_the_cutoff_is_the_next_pickup_day():
    assert pickup_slot(BLOCK, at(2025, 3, 14, 15, 0)).date == "15-03-2025"
    assert pickup_slot(BLOCK, at(2025, 3, 14, 23, 59)).date == "15-03-2025"


def test_saturday_after_the_cutoff_is_monday_when_sunday_is_not_a_pickup_day():
    assert pickup_slot(BLOCK, at(2025, 3, 15, 16, 0)).date == "17-03-2025"


def test_sunday_is_monday():
    assert pickup_slot(BLOCK, at(2025, 3, 16, 9, 0)).date == "17-03-2025"


def test_the_date_is_taken_in_the_pickups_time_zone():
    # 07:30 UTC is 14:30 in Jakarta (before the cutoff) but 15:30 in Makassar (after it)
    now = datetime(2025, 3, 14, 7, 30, tzinfo=UTC)
    assert pickup_slot(BLOCK, now).date == "14-03-2025"
    assert pickup_slot({**BLOCK, "timezone": "Asia/Makassar"}, now).date == "15-03-2025"
    # 17:30 UTC Thursday is already Friday 00:30 in Jakarta
    assert pickup_slot(BLOCK, datetime(2025, 3, 13, 17, 30, tzinfo=UTC)).date == "14-03-2025"


def test_days_and_times_are_read_loosely():
    block = {**BLOCK, "days": ["Monday", "WED"], "cutoff": "9:30", "time": "10:00"}
    assert pickup_slot(block, at(2025, 3, 17, 9, 0)).date == "17-03-2025"   # Monday before 09:30
    assert pickup_slot(block, at(2025, 3, 17, 9, 45)).date == "19-03-2025"  # -> Wednesday
    assert pickup_slot(block, at(2025, 3, 17, 9, 0)).time == "10:00"


def test_defaults_match_integration_yaml():
    slot = pickup_slot({}, at(2025, 3, 14, 10, 0))
    assert (slot.date, slot.time) == ("14-03-2025", "16:00")


def test_naive_now_is_taken_as_utc():
    assert pickup_slot(BLOCK, datetime(2025, 3, 14, 7, 30)).date == "14-03-2025"


@pytest.mark.parametrize("block,needle", [
    (None, "no pickup block"), ({"timezone": "Mars/Base"}, "not a time zone"),
    ({"cutoff": "3pm"}, "pickup.cutoff '3pm'"), ({"time": "25:00"}, "pickup.time"),
    ({"days": []}, "pickup.days must be a list"), ({"days": ["someday"]}, "'someday' is not a day"),
    ({"days": "mon"}, "pickup.days must be a list"),
])
def test_a_broken_pickup_block_is_a_message(block, needle):
    with pytest.raises(SlotError, match=needle):
        pickup_slot(block, at(2025, 3, 14, 10, 0))
