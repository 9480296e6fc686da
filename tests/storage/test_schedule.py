"""Schedules: the next fire time in the subscriber's zone, across DST, and the period."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from storage.errors import SubscriptionError
from storage.schedule import Schedule, close_zones, zone


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "prev", "now", "expected"),
    [
        pytest.param(
            Schedule("daily", "09:00", "Europe/Berlin"),
            None,
            utc("2026-03-16T12:00"),
            utc("2026-03-17T08:00"),
            id="daily-winter",
        ),
        pytest.param(
            Schedule("daily", "09:00", "Europe/Berlin"),
            utc("2026-03-28T08:00"),
            utc("2026-03-28T08:01"),
            utc("2026-03-29T07:00"),
            id="daily-across-spring-forward",
        ),
        pytest.param(
            Schedule("daily", "02:30", "Europe/Berlin"),
            None,
            utc("2026-03-28T12:00"),
            utc("2026-03-29T01:30"),  # 03:30 CEST: forward by the hour that is skipped
            id="nonexistent-time-moves-forward",
        ),
        pytest.param(
            Schedule("daily", "02:30", "Europe/Berlin"),
            None,
            utc("2026-10-24T12:00"),
            utc("2026-10-25T00:30"),
            id="ambiguous-time-takes-the-first",
        ),
        pytest.param(
            Schedule("weekdays", "08:00", "America/New_York"),
            None,
            utc("2026-03-13T14:00"),
            utc("2026-03-16T12:00"),
            id="weekdays-skip-the-weekend",
        ),
        pytest.param(
            Schedule("weekly", "08:00", "UTC", weekday=2),
            None,
            utc("2026-03-16T00:00"),
            utc("2026-03-18T08:00"),
            id="weekly-on-wednesday",
        ),
        pytest.param(
            Schedule("daily", "09:00", "UTC"),
            utc("2026-03-20T09:00"),
            utc("2026-03-17T10:00"),
            utc("2026-03-21T09:00"),
            id="after-prev-when-prev-is-later",
        ),
    ],
)
def test_next_fire_time(schedule, prev, now, expected):
    assert schedule.next_fire_time(prev, now) == expected


def test_instant_has_no_fire_time():
    assert Schedule("instant").next_fire_time(None, utc("2026-03-16T12:00")) is None


@pytest.mark.parametrize(
    ("schedule", "due", "period"),
    [
        pytest.param(Schedule("daily", tz="Asia/Tokyo"), utc("2026-03-16T23:30"), "2026-03-17"),
        pytest.param(Schedule("weekly", tz="UTC"), utc("2026-03-16T08:00"), "2026-W12"),
    ],
    ids=["local-date", "iso-week"],
)
def test_period_is_the_local_day_or_week(schedule, due, period):
    assert schedule.period(due) == period


def test_unknown_zone_is_a_subscription_error():
    with pytest.raises(SubscriptionError, match="not a timezone"):
        zone("Mars/Olympus")


@pytest.mark.parametrize(
    ("day", "at", "tz", "expected"),
    [
        pytest.param(date(2026, 3, 29), "02:30", "Europe/Berlin", "01:30", id="spring-gap"),
        pytest.param(date(2026, 10, 25), "02:30", "Europe/Berlin", "00:30", id="fall-first"),
        pytest.param(date(2026, 3, 17), "09:00", "America/New_York", "13:00", id="edt"),
    ],
)
def test_slot_on_a_local_day_is_dst_correct(day, at, tz, expected):
    slot = Schedule("daily", at, tz).slot_on(day)
    assert slot is not None and slot.strftime("%H:%M") == expected and slot.date() == day


def test_slot_on_a_day_the_schedule_skips_is_none():
    assert Schedule("weekly", "09:00", "UTC", weekday=0).slot_on(date(2026, 3, 17)) is None
    assert Schedule("weekdays", "09:00", "UTC").slot_on(date(2026, 3, 21)) is None


@pytest.mark.parametrize(
    ("typed", "zones"),
    [
        pytest.param("londn", ("Europe/London",), id="letter-missing"),
        pytest.param("Tokio", ("Asia/Tokyo",), id="letter-wrong"),
        pytest.param("sydeny", ("Australia/Sydney",), id="letters-swapped"),
        pytest.param("kolkatta", ("Asia/Kolkata",), id="letter-doubled"),
        pytest.param("newyork", ("America/New_York",), id="no-underscore"),
        pytest.param("new-york", ("America/New_York",), id="hyphen-for-underscore"),
        pytest.param("london", (), id="a-city-already"),
        pytest.param("Europe/London", (), id="a-zone-already"),
        pytest.param("diffusion", (), id="no-city-near"),
        pytest.param("noise", (), id="another-first-letter"),  # Boise
        pytest.param("rom", (), id="too-short"),
        pytest.param("lond0n", (), id="not-letters"),
    ],
)
def test_close_zones_names_the_city_a_word_misspells(typed, zones):
    assert close_zones(typed) == zones
