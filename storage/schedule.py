"""When a digest is due: local wall-clock times in IANA timezones, DST-correct."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.errors import SubscriptionError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Frequency(StrEnum):
    """How often a subscription is delivered; instant means an alert per ingest."""

    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"
    INSTANT = "instant"


def zone(name: str) -> ZoneInfo:
    """The IANA timezone by name; raises SubscriptionError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SubscriptionError(f"`{name}` is not a timezone I know, try `Europe/Berlin`.") from exc


@dataclass(frozen=True)
class Schedule:
    """A subscription's schedule: a local time in an IANA zone, daily, on weekdays or on
    one weekday; `instant` has no schedule of its own (alerts follow ingests)."""

    frequency: str = Frequency.DAILY
    at: str = "09:00"
    tz: str = "UTC"
    weekday: int = 0  # 0 = Monday, for weekly

    def next_fire_time(self, prev: datetime | None, now: datetime) -> datetime | None:
        """The first scheduled moment (UTC) strictly after both `prev` and `now`, or None
        for instant alerts. Like APScheduler's triggers: `prev` is the last due moment."""
        if self.frequency == Frequency.INSTANT:
            return None
        after = max(prev, now) if prev else now
        tz = zone(self.tz)
        day = after.astimezone(tz).date()
        for offset in range(0, 9):
            candidate = day + timedelta(days=offset)
            if not self._runs_on(candidate):
                continue
            moment = self._local(candidate, tz)
            if moment > after:
                return moment.astimezone(UTC)
        raise AssertionError("a schedule always has a slot within 8 days")  # pragma: no cover

    def period(self, due: datetime) -> str:
        """The delivery period a due moment belongs to: one digest per period, ever."""
        local = due.astimezone(zone(self.tz))
        if self.frequency == Frequency.WEEKLY:
            year, week, _ = local.isocalendar()
            return f"{year}-W{week:02d}"
        return local.date().isoformat()

    def local(self, moment: datetime) -> datetime:
        """A moment on the subscriber's wall clock."""
        return moment.astimezone(zone(self.tz))

    def _runs_on(self, day: date) -> bool:
        if self.frequency == Frequency.WEEKDAYS:
            return day.weekday() < 5
        if self.frequency == Frequency.WEEKLY:
            return day.weekday() == self.weekday
        return True

    def _local(self, day: date, tz: ZoneInfo) -> datetime:
        hour, minute = (int(part) for part in self.at.split(":"))
        # A wall time that does not exist (the spring-forward gap) moves forward by the gap
        # once normalized through UTC; an ambiguous one (fall back) takes its first occurrence.
        naive = datetime.combine(day, time(hour, minute), tzinfo=tz)
        return naive.astimezone(UTC).astimezone(tz)
