"""What a parser makes of one input: entries for storage, the parts it skipped, and the
bounds every input is held to (counts, title and abstract lengths)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from storage.models import Entry

# Limits from real data. arXiv caps abstracts at 1,920 characters (the seeds' longest line is
# 1,907) and titles stay under 300; upvote counts on Hugging Face are in the thousands, and
# the longest author lists (LHC collaborations) run to about 5,000 names.
ABSTRACT_MAX_CHARS = 4_000
TITLE_MAX_CHARS = 300
MAX_COUNT = 1_000_000  # upvotes, comments
MAX_AUTHORS = 100_000
# Skips kept with their place for inspection; the rest are only counted by reason.
KEEP_SKIPS = 100
# The reason noted once for an input (or a dump's line) read as Windows-1252.
NOT_UTF8 = "not UTF-8; decoded as Windows-1252"
# Month numbers by the first three letters of their English names, as dumps and feeds
# write dates ("Mar 17", "Tue, 17 Mar").
MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


def yearless_date(month: int, day: int, reference: date) -> date | None:
    """A year-less date ("Mar 17") as a dump or feed read on `reference` means it: the
    latest such day up to the day after (a source a time zone ahead is on the next day;
    "Jan 1" read on Dec 31 is tomorrow, "Dec 30" read in January last year's); None for a
    day none of those years has (Feb 30, or Feb 29 without a leap year)."""
    for year in (reference.year + 1, reference.year, reference.year - 1):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found <= reference + timedelta(days=1):
            return found
    return None


@dataclass
class Skip:
    """A part of an input that was not turned into an entry, and why."""

    where: str
    reason: str


@dataclass
class Parsed:
    """What a parser made of one input. Skips are counted by reason; only the first
    KEEP_SKIPS keep their place, so a million junk lines cost a counter, not a list."""

    entries: list[Entry] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    skip_counts: Counter = field(default_factory=Counter)
    page_date: str | None = None
    undated: bool = False  # no listing date anywhere: see jobs.ingest
    unreadable: str | None = None  # why the input is not a dump, feed or JSON at all

    def __post_init__(self) -> None:
        self.skip_counts.update(skip.reason for skip in self.skips)

    def skip(self, where: str, reason: str) -> None:
        """Count a skipped part of the input, and keep its place while there are few."""
        self.skip_counts[reason] += 1
        if len(self.skips) < KEEP_SKIPS:
            self.skips.append(Skip(where, reason))

    @property
    def skipped(self) -> int:
        """How many parts of the input were skipped."""
        return sum(self.skip_counts.values())


def bounded_count(value: Any, name: str, limit: int, result: Parsed, where: str) -> int | None:
    """A non-negative count, or None: a count past `limit` is dropped with a counted reason
    (never the entry, never the input)."""
    if value == float("inf") or (isinstance(value, int) and value > limit):
        # Too big to be real (or to store): drop the field, keep the entry.
        result.skip(where, f"{name} above {limit:,} dropped")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return None
    return value


def bounded_text(text: str, name: str, limit: int, result: Parsed, where: str) -> str:
    """Text cut at a word boundary to `limit` characters, with a counted reason."""
    if len(text) <= limit:
        return text
    result.skip(where, f"{name} longer than {limit:,} characters truncated")
    head = text[: limit - 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else head
    return cut.rstrip() + "…"
