"""What a parser makes of one input: entries for storage, and the parts it skipped."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.models import Entry


@dataclass
class Skip:
    """A part of an input that was not turned into an entry, and why."""

    where: str
    reason: str


@dataclass
class Parsed:
    """What a parser made of one input."""

    entries: list[Entry] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    page_date: str | None = None
