"""When a digest is due: local wall-clock times in IANA timezones, DST-correct."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from storage.errors import SubscriptionError
from storage.text import quoted

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Frequency(StrEnum):
    """How often a subscription is delivered; instant means an alert per ingest."""

    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"
    INSTANT = "instant"


# Abbreviations people type. They are refused, not guessed: CST and IST each name several
# zones, and none of them says when summer time starts. The reply names the IANA zones.
ABBREVIATIONS = {
    "CET": "Europe/Paris, Europe/Berlin, Europe/Madrid, Europe/Rome",
    "CEST": "Europe/Paris, Europe/Berlin, Europe/Madrid, Europe/Rome",
    "MET": "Europe/Paris, Europe/Berlin",
    "WET": "Europe/Lisbon, Atlantic/Canary",
    "WEST": "Europe/Lisbon, Atlantic/Canary",
    "EET": "Europe/Athens, Europe/Helsinki, Europe/Kyiv",
    "EEST": "Europe/Athens, Europe/Helsinki, Europe/Kyiv",
    "BST": "Europe/London",
    "IST": "Asia/Kolkata, Europe/Dublin, Asia/Jerusalem",
    "MSK": "Europe/Moscow",
    "EST": "America/New_York, America/Toronto",
    "EDT": "America/New_York, America/Toronto",
    "ET": "America/New_York, America/Toronto",
    "CST": "America/Chicago, America/Mexico_City, Asia/Shanghai",
    "CDT": "America/Chicago, America/Mexico_City",
    "CT": "America/Chicago, America/Mexico_City",
    "MST": "America/Denver, America/Phoenix",
    "MDT": "America/Denver",
    "MT": "America/Denver, America/Phoenix",
    "PST": "America/Los_Angeles, America/Vancouver",
    "PDT": "America/Los_Angeles, America/Vancouver",
    "PT": "America/Los_Angeles, America/Vancouver",
    "AKST": "America/Anchorage",
    "HST": "Pacific/Honolulu",
    "BRT": "America/Sao_Paulo",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "HKT": "Asia/Hong_Kong",
    "SGT": "Asia/Singapore",
    "AEST": "Australia/Sydney, Australia/Melbourne, Australia/Brisbane",
    "AEDT": "Australia/Sydney, Australia/Melbourne",
    "ACST": "Australia/Adelaide, Australia/Darwin",
    "AWST": "Australia/Perth",
    "NZST": "Pacific/Auckland",
    "NZDT": "Pacific/Auckland",
}
# Names without a slash that are zones a person means as one; other one-word legacy names
# (Japan, Poland, ...) are more likely keywords.
PLAIN_ZONES = ("UTC", "GMT", "UCT", "Universal", "Zulu")
_AREAS = (
    "africa",
    "america",
    "antarctica",
    "arctic",
    "asia",
    "atlantic",
    "australia",
    "europe",
    "indian",
    "pacific",
    "etc",
)
_OFFSET = re.compile(r"^(?:UTC|GMT)([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
# `+02:00`, `-05:30`, as ISO 8601 writes an offset (a bare `-3` may be an exclusion).
_BARE_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


@functools.cache
def _zones() -> dict[str, str]:
    """Every IANA zone, by its lower-cased name."""
    return {name.lower(): name for name in available_timezones()}


def find_zone(word: str) -> str | None:
    """The IANA zone a word names (any case: `utc`, `europe/berlin`, `Etc/GMT-2`), or None.

    One-word legacy names other than UTC/GMT (`Japan`, `Poland`) are not taken as zones."""
    name = _zones().get(word.lower())
    if name is None:
        return None
    return name if "/" in name or name in PLAIN_ZONES else None


@functools.cache
def _cities() -> dict[str, tuple[str, ...]]:
    """Every geographic IANA zone, by its lower-cased city (`london` → Europe/London)."""
    cities: dict[str, list[str]] = {}
    for name in sorted(available_timezones()):
        area, _, city = name.rpartition("/")
        region = area.split("/")[0].lower()
        if region in _AREAS and region != "etc":  # Etc/GMT-2 is no city
            cities.setdefault(city.lower(), []).append(name)
    return {city: tuple(names) for city, names in cities.items()}


def city_zones(word: str) -> tuple[str, ...]:
    """The IANA zones a bare city name stands for (`london`, `New_York`), or ()."""
    return _cities().get(word.lower(), ())


# A misspelled city: at least this many letters, one slip in a name of up to SHORT_CITY
# letters and two in a longer one (a swap of two letters is one), the first letter right.
MIN_CITY_TYPO = 4
SHORT_CITY = 5
MAX_CLOSE_ZONES = 3


@functools.cache
def _city_spellings() -> dict[str, tuple[str, ...]]:
    """The geographic zones by city spelled as people type it: lower case, no `_`
    (`newyork` → America/New_York)."""
    spellings: dict[str, tuple[str, ...]] = {}
    for city, names in _cities().items():
        key = city.replace("_", "")
        spellings[key] = spellings.get(key, ()) + names
    return spellings


def close_zones(word: str) -> tuple[str, ...]:
    """The zones of the city a word misspells (`londn` → Europe/London, `tokio` →
    Asia/Tokyo, `newyork` → America/New_York), closest first; () when no city is a slip
    away, or when the word is a zone or a city already."""
    key = word.lower().replace("_", "").replace("-", "")
    if len(key) < MIN_CITY_TYPO or not key.isalpha() or find_zone(word) or city_zones(word):
        return ()
    edits = 1 if len(key) <= SHORT_CITY else 2
    cities = [city for city in _city_spellings() if city[0] == key[0]]
    close = process.extract(
        key, cities, scorer=DamerauLevenshtein.distance, score_cutoff=edits, limit=None
    )
    if not close:
        return ()
    nearest = min(distance for _, distance, _ in close)
    zones = [z for city, d, _ in close if d == nearest for z in _city_spellings()[city]]
    return tuple(dict.fromkeys(zones))[:MAX_CLOSE_ZONES]


def zone_problem(word: str) -> str | None:
    """Why a word that looks like a timezone is not one we take, with the zone to use; None
    when it does not look like a timezone at all (or is one)."""
    upper = word.upper()
    if upper in ABBREVIATIONS:
        first = ABBREVIATIONS[upper].split(",")[0]
        return (
            f"`{word}` is an abbreviation, and it does not say when summer time starts. "
            f"Use the IANA zone of a city: {_codes(ABBREVIATIONS[upper])}, "
            f"like `at 09:00 {first}`."
        )
    offset = _OFFSET.match(word) or _BARE_OFFSET.match(word)
    if offset and int(offset.group(3) or 0):  # India's +5:30, Nepal's +5:45: no Etc/ zone
        return (
            f"`{word}` is a fixed offset: use the IANA zone of a city, like `Asia/Kolkata` "
            "(+5:30), `Asia/Kathmandu` (+5:45) or `America/St_Johns` (-3:30, with summer time)."
        )
    if offset:
        sign = "-" if offset.group(1) == "+" else "+"
        etc = f"Etc/GMT{sign}{int(offset.group(2))}" if int(offset.group(2)) else "UTC"
        return (
            f"`{word}` is a fixed offset: use the IANA zone of a city (like `Europe/Berlin`), "
            f"which follows summer time, or `{etc}` (the Etc/ signs are inverted)."
        )
    if "/" in word and word.split("/")[0].lower() in _AREAS and find_zone(word) is None:
        return _unknown(word)
    return None


def _codes(names: str) -> str:
    return ", ".join(f"`{name.strip()}`" for name in names.split(","))


def _unknown(name: str) -> str:
    prefix = name.lower().rstrip("/") + "/"
    inside = sorted(z for key, z in _zones().items() if key.startswith(prefix))
    if inside:
        shown = ", ".join(f"`{z}`" for z in inside[:6]) + (", …" if len(inside) > 6 else "")
        return f"`{quoted(name)}` is a region, not a timezone; pick one in it: {shown}."
    close = process.extract(name.lower(), list(_zones()), scorer=fuzz.ratio, limit=2)
    hint = " or ".join(f"`{_zones()[key]}`" for key, score, _ in close if score >= 80)
    return f"`{quoted(name)}` is not a timezone I know; " + (
        f"did you mean {hint}?" if hint else "try `Europe/Berlin` or `America/New_York`."
    )


def zone(name: str) -> ZoneInfo:
    """The IANA timezone by name; raises SubscriptionError for an unknown one."""
    try:
        return ZoneInfo(name)
    # A region folder (`America/Argentina`) raises IsADirectoryError with the tzdata package.
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise SubscriptionError(_unknown(name)) from exc


def period_day(period: str) -> date | None:
    """The first local day of a digest's period (Schedule.period: `2026-03-17`, or
    `2026-W12`: its Monday); None for another ledger period (an alert's `alert:0-57`)."""
    year, week_mark, week = period.partition("-W")
    try:
        if week_mark:
            return date.fromisocalendar(int(year), int(week), 1)
        return date.fromisoformat(period)
    except ValueError:
        return None


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

    def last_fire_time(self, now: datetime) -> datetime | None:
        """The latest scheduled moment (UTC) at or before `now`, or None for instant alerts."""
        if self.frequency == Frequency.INSTANT:
            return None
        day = self.local(now).date()
        for back in range(0, 9):
            slot = self.slot_on(day - timedelta(days=back))
            if slot is not None and slot <= now:
                return slot
        raise AssertionError("a schedule always has a slot within 8 days")  # pragma: no cover

    def period(self, due: datetime) -> str:
        """The delivery period a due moment belongs to: one digest per period, ever."""
        local = due.astimezone(zone(self.tz))
        if self.frequency == Frequency.WEEKLY:
            year, week, _ = local.isocalendar()
            return f"{year}-W{week:02d}"
        return local.date().isoformat()

    def span(self, due: datetime) -> int:
        """The local days a digest due at `due` covers: back to the day after the schedule's
        previous slot (1 daily, 7 weekly; a weekdays digest's Monday covers the weekend)."""
        day = self.local(due).date()
        for back in range(1, 8):
            if self._runs_on(day - timedelta(days=back)):
                return back
        return 7

    def slot_on(self, day: date) -> datetime | None:
        """The scheduled moment (UTC) on a local day, or None when it does not run that day."""
        if self.frequency == Frequency.INSTANT or not self._runs_on(day):
            return None
        return self._local(day, zone(self.tz)).astimezone(UTC)

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
