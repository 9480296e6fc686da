"""Parser for Hugging Face "Daily Papers" text dumps. It never raises."""

from __future__ import annotations

import re
from datetime import date

from jobs.parsing import Parsed, Skip
from storage.models import Entry
from storage.text import clean

BOILERPLATE = {
    "new",
    "get trending papers in your email inbox!",
    "subscribe",
    "daily papers",
    "byak and the research community",
}
MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_DATE = re.compile(r"^([A-Za-z]{3})[a-z]*\.? (\d{1,2})(?:, (\d{4}))?(?:\s+(\d+))?$")
_AUTHORS = re.compile(r"^[•·*\-]?\s*(\d+)\s+authors?$", re.IGNORECASE)
_NON_LETTER = re.compile(r"[\W\d_]")
_SEPARATORS = {"·", "•", "-", "|"}
# Titles are short; abstracts are paragraphs. arXiv titles stay well under 250 characters.
ABSTRACT_MIN_CHARS = 250
TITLE_MAX_CHARS = 300
MIN_ABSTRACT_WORDS = 8


def decode(data: bytes) -> tuple[str, list[Skip]]:
    """Bytes to text: UTF-8 (with or without BOM); stray bad bytes are dropped with a noted
    skip, and a file that is mostly not UTF-8 is read as Windows-1252."""
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8-sig", errors="replace")
        if text.count("\ufffd") * 100 < len(text):
            return text, [Skip(f"byte {exc.start}", "invalid UTF-8 bytes dropped")]
        note = Skip(f"byte {exc.start}", "not UTF-8; decoded as Windows-1252")
        return data.decode("cp1252", errors="replace"), [note]


def parse_month_day(text: str, reference: date) -> tuple[date, int | None] | None:
    """Parse "Mar 16", "Oct 22, 2020" or "Mar 9 4" (upvotes after), year from reference."""
    match = _DATE.match(text)
    if not match:
        return None
    month = MONTHS.get(match.group(1).lower())
    if month is None:
        return None
    day, year = int(match.group(2)), match.group(3)
    try:
        if year:
            found = date(int(year), month, day)
        else:
            found = date(reference.year, month, day)
            if found > reference:  # "Dec 30" read in January is last year's
                found = date(reference.year - 1, month, day)
    except ValueError:
        return None
    upvotes = int(match.group(4)) if match.group(4) else None
    return found, upvotes


def _looks_like_abstract(line: str, following: str | None) -> bool:
    if len(line) >= ABSTRACT_MIN_CHARS:
        return True
    # A short abstract still reads as prose: titles almost never end with a full stop. One
    # that does is a title after all when a full-length abstract comes right after it.
    if len(line) >= 120 and line.endswith("."):
        return following is None or len(following) < ABSTRACT_MIN_CHARS
    return False


def _is_text(line: str, min_words: int) -> bool:
    letters = len(line) - len(_NON_LETTER.findall(line))
    return letters >= len(line) * 0.5 and len(line.split(None, min_words)) >= min_words


def _next_text(lines: list[str], after: int) -> str | None:
    """The next non-blank line after line number `after` (1-based), if any."""
    for line in lines[after : after + 4]:
        if line:
            return line
    return None


def parse_dump(data: bytes, reference: date) -> Parsed:
    """Parse one dump. Entries get the page date (or reference) as their listing date."""
    text, skips = decode(data)
    result = Parsed(skips=skips)
    page_date: date | None = None
    pending: tuple[int, str] | None = None  # a title waiting for its abstract
    current: Entry | None = None  # the last entry, which metadata lines attach to
    lines = [clean(raw) for raw in text.splitlines()]
    for number, line in enumerate(lines, 1):
        if not line or line.casefold() in BOILERPLATE or line in _SEPARATORS:
            continue
        where = f"line {number}"
        authors = _AUTHORS.match(line)
        if authors:
            if current is None or current.authors_count is not None:
                result.skips.append(Skip(where, "author count without a paper"))
            else:
                current.authors_count = int(authors.group(1))
            continue
        when = parse_month_day(line, page_date or reference)
        if when is not None:
            if current is None and pending is None and page_date is None:
                page_date = when[0]
            elif current is not None and current.published is None and pending is None:
                current.published = when[0].isoformat()
                current.upvotes = when[1]
            else:
                result.skips.append(Skip(where, "date without a paper"))
            continue
        if _looks_like_abstract(line, _next_text(lines, number)):
            if not _is_text(line, MIN_ABSTRACT_WORDS):
                result.skips.append(Skip(where, "not prose"))
                continue
            title = pending[1] if pending else None
            current = Entry(abstract=line, title=title)
            result.entries.append(current)
            pending = None
            continue
        if len(line) > TITLE_MAX_CHARS or not _is_text(line, 1):
            result.skips.append(Skip(where, "neither a title nor an abstract"))
            continue
        if pending is not None:
            result.skips.append(Skip(f"line {pending[0]}", "title without an abstract"))
        pending = (number, line)
        current = None
    if pending is not None:
        result.skips.append(Skip(f"line {pending[0]}", "title without an abstract"))
    listed = (page_date or reference).isoformat()
    for entry in result.entries:
        entry.listed_on = listed
    result.page_date = page_date.isoformat() if page_date else None
    return result
