"""When a digest is due: local wall-clock times in IANA timezones, DST-correct."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from papers.errors import SubscriptionError

FREQUENCIES = ("daily", "weekdays", "weekly", "instant")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)


def parse_time(text: str) -> str:
    """ "9", "9:30", "09:30", "9am", "5:15pm" → "HH:MM"; raises SubscriptionError otherwise."""
    match = _TIME.match(text.strip())
    if not match:
        raise SubscriptionError(f"`{text}` is not a time; use 24-hour `HH:MM`, like `09:00`.")
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hour <= 12:
            raise SubscriptionError(f"`{text}` is not a time of day.")
        hour = hour % 12 + (12 if half.lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        raise SubscriptionError(f"`{text}` is not a time of day.")
    return f"{hour:02d}:{minute:02d}"


def zone(name: str) -> ZoneInfo:
    """The IANA timezone by name; raises SubscriptionError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SubscriptionError(f"`{name}` is not a timezone I know, try `Europe/Berlin`.") from exc


def _local(day: date, at: str, tz: ZoneInfo) -> datetime:
    hour, minute = (int(part) for part in at.split(":"))
    # A wall time that does not exist (the spring-forward gap) moves forward by the gap
    # once normalized through UTC; an ambiguous one (fall back) takes its first occurrence.
    naive = datetime.combine(day, time(hour, minute), tzinfo=tz)
    return naive.astimezone(UTC).astimezone(tz)


def _matches(day: date, frequency: str, weekday: int) -> bool:
    if frequency == "weekdays":
        return day.weekday() < 5
    if frequency == "weekly":
        return day.weekday() == weekday
    return True


def next_due(
    frequency: str, at: str, tz_name: str, weekday: int, after: datetime
) -> datetime | None:
    """The first scheduled moment strictly after `after` (UTC), or None for instant alerts."""
    if frequency == "instant":
        return None
    tz = zone(tz_name)
    day = after.astimezone(tz).date()
    for offset in range(0, 9):
        candidate_day = day + timedelta(days=offset)
        if not _matches(candidate_day, frequency, weekday):
            continue
        moment = _local(candidate_day, at, tz)
        if moment > after:
            return moment.astimezone(UTC)
    raise AssertionError("a schedule always has a slot within 8 days")  # pragma: no cover


def period(frequency: str, due: datetime, tz_name: str) -> str:
    """The delivery period a due moment belongs to: one digest per period, ever."""
    local = due.astimezone(zone(tz_name))
    if frequency == "weekly":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    return local.date().isoformat()
