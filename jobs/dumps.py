"""Parser for Hugging Face "Daily Papers" text dumps. It never raises."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from typing import BinaryIO

from jobs.parsing import (
    ABSTRACT_MAX_CHARS,
    MAX_AUTHORS,
    MAX_COUNT,
    MONTHS,
    NOT_UTF8,
    TITLE_MAX_CHARS,
    Parsed,
    bounded_count,
    bounded_text,
    yearless_date,
)
from storage.models import Entry
from storage.text import clean

BOILERPLATE = {
    "new",
    "get trending papers in your email inbox!",
    "subscribe",
    "daily papers",
    "byak and the research community",
}
# A month as pages write it: "Mar", "Mar.", "Sept" or "March", never any word that starts
# with one ("Janus 2", "Octopus 2" and "Novel 7" are titles, not dates).
_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DATE = re.compile(rf"^({_MONTH})\.? (\d{{1,2}})(?:, (\d{{4}}))?(?:\s+(\d+))?$", re.IGNORECASE)
_AUTHORS = re.compile(r"^[•·*\-]?\s*(\d+)\s+authors?$", re.IGNORECASE)
_NON_LETTER = re.compile(r"[\W\d_]")
_ASCII_NON_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())
_SEPARATORS = {"·", "•", "-", "|"}
# Titles are short; abstracts are paragraphs. arXiv titles stay well under 250 characters.
ABSTRACT_MIN_CHARS = 250
MIN_ABSTRACT_WORDS = 8


# A line longer than this is no title or abstract (the seeds' longest is 1,907 bytes): it is
# skipped unread, so one 200 MB line costs a 1 MB buffer, not 200 MB of text.
MAX_LINE_BYTES = 16_384
CHUNK_BYTES = 1 << 20


def raw_lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """The lines of a binary stream (LF, CRLF or CR), read in chunks; an overlong line
    comes out as None without ever being held whole."""
    for run in _raw_runs(stream):
        yield from run


def _raw_runs(stream: BinaryIO) -> Iterator[list[bytes | None]]:
    """raw_lines' lines, one list per chunk read (so a plain chunk is handled at once)."""
    buffer, overlong = b"", False
    while chunk := stream.read(CHUNK_BYTES):
        data = buffer + chunk
        pieces = data.split(b"\n")
        buffer = pieces.pop()  # the unfinished line
        # The common chunk (no CR, no line too long) is its LF-split pieces as they are.
        if overlong or b"\r" in data or max(map(len, pieces), default=0) > MAX_LINE_BYTES:
            run: list[bytes | None] = []
            for piece in pieces:
                if overlong:  # the end of a line already too long
                    overlong = False
                    run.append(None)
                    continue
                run += _cr_lines(piece.removesuffix(b"\r"))
        else:
            run = list(pieces)
        if b"\r" in buffer[:-1]:  # old Mac line breaks (a CR at the very end may be CRLF's)
            *done, buffer = buffer.split(b"\r")
            for piece in done:
                run.append(None if overlong else piece)
                overlong = False
        if len(buffer) > MAX_LINE_BYTES:
            buffer, overlong = b"", True
        yield run
    if buffer or overlong:
        yield [None] if overlong else list(_cr_lines(buffer.removesuffix(b"\r")))


def _cr_lines(line: bytes) -> Iterator[bytes | None]:
    for piece in line.split(b"\r") if b"\r" in line else (line,):
        yield None if len(piece) > MAX_LINE_BYTES else piece


def decode_line(raw: bytes, result: Parsed, where: str) -> str:
    """One line's bytes to text: UTF-8; stray bad bytes among UTF-8 characters are dropped
    (noted once per input), and a line with none, or mostly not UTF-8, is read as
    Windows-1252."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        # Only a UTF-8 character beside the bad bytes says the line is UTF-8: in a Windows
        # editor's line an accent or a curly quote is far under 1% of an abstract's bytes,
        # and dropping them made "Schrödinger" "Schrdinger" (its title read right).
        utf8 = any(c > "\x7f" and c != "\ufffd" for c in text)
        if utf8 and text.count("\ufffd") * 100 < len(text):
            reason = "invalid UTF-8 bytes dropped"
        else:
            text, reason = raw.decode("cp1252", errors="replace"), _CP1252
        if not result.skip_counts[reason]:
            result.skip(where, reason)
        return text


_CP1252 = NOT_UTF8


def parse_month_day(text: str, reference: date) -> tuple[date, int | None] | None:
    """Parse "Mar 16", "Oct 22, 2020" or "Mar 9 4" (upvotes after); a year-less date as of
    `reference` (jobs.parsing.yearless_date), as a feed's is."""
    match = _DATE.match(text)
    if not match:
        return None
    month = MONTHS.get(match.group(1)[:3].lower())
    if month is None:
        return None
    day, year = int(match.group(2)), match.group(3)
    if year:
        try:
            found = date(int(year), month, day)
        except ValueError:
            return None
    elif (found := yearless_date(month, day, reference)) is None:
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


def _letters(line: str) -> int:
    """How many letters a line holds (for ASCII, counted in C by deleting the rest)."""
    if line.isascii():
        return len(line.encode().translate(None, _ASCII_NON_LETTERS))
    return len(line) - len(_NON_LETTER.findall(line))


def _is_text(line: str, min_words: int) -> bool:
    letters = _letters(line)
    return letters >= len(line) * 0.5 and len(line.split(None, min_words)) >= min_words


def _next_text(lines: list[str], after: int) -> str | None:
    """The next non-blank line after line number `after` (1-based), if any."""
    for line in lines[after : after + 4]:
        if line:
            return line
    return None


def _read_lines(stream: BinaryIO, result: Parsed) -> list[str]:
    """The cleaned lines of a dump; an overlong line is skipped (and left blank, so line
    numbers stay true)."""
    lines: list[str] = []
    for run in _raw_runs(stream):
        text = _plain_text(run)  # a byte order mark is a control character to clean()
        if text is not None:
            lines += map(clean, text.split("\n"))
            continue
        for raw in run:
            _read_line(raw, lines, result)
    return lines


def _read_line(raw: bytes | None, lines: list[str], result: Parsed) -> None:
    """Append one raw line's cleaned text (or texts) to lines."""
    where = f"line {len(lines) + 1}"
    if raw is None:
        result.skip(where, f"line longer than {MAX_LINE_BYTES:,} bytes")
        lines.append("")
        return
    if not lines:
        raw = raw.removeprefix(b"\xef\xbb\xbf")
    # Unicode line breaks (U+2028, NEL, form feed) inside a line split it, as they would
    # in a text editor.
    lines += [clean(part) for part in decode_line(raw, result, where).splitlines()] or [""]


# What str.splitlines() splits at besides LF (CR never reaches a plain run).
_LINE_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def _plain_text(run: list[bytes | None]) -> str | None:
    """A run of lines as one text, when each line would read as itself: every line valid
    UTF-8, none overlong, none holding another line break. Decoding a chunk at once
    instead of line by line is most of what reading a dump costs."""
    if not run or None in run:
        return None
    try:
        text = b"\n".join(run).decode("utf-8")  # type: ignore[arg-type]
    except UnicodeDecodeError:
        return None
    if any(mark in text for mark in _LINE_BREAKS):
        return None
    return text


def parse_dump(data: bytes | BinaryIO, reference: date, dated: bool = True) -> Parsed:
    """Parse one dump (bytes or a binary stream, read line by line).

    Entries are listed on the page's date line; without one, on `reference`, which is a
    true listing date when `dated` (--date, a date in the file name) and otherwise only the
    ingest day: the entries are then marked undated."""
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    result = Parsed()
    page_date: date | None = None
    pending: tuple[int, str] | None = None  # a title waiting for its abstract
    current: Entry | None = None  # the last entry, which metadata lines attach to
    lines = _read_lines(stream, result)
    for number, line in enumerate(lines, 1):
        if not line or line.casefold() in BOILERPLATE or line in _SEPARATORS:
            continue
        where = f"line {number}"
        authors = _AUTHORS.match(line)
        if authors:
            if current is None or current.authors_count is not None:
                result.skip(where, "author count without a paper")
            else:
                count = int(authors.group(1))
                current.authors_count = bounded_count(count, "authors", MAX_AUTHORS, result, where)
            continue
        when = parse_month_day(line, page_date or reference)
        if when is not None:
            if current is None and pending is None and page_date is None:
                page_date = when[0]
            elif current is not None and current.published is None and pending is None:
                current.published = when[0].isoformat()
                current.upvotes = bounded_count(when[1], "upvotes", MAX_COUNT, result, where)
            else:
                result.skip(where, "date without a paper")
            continue
        if _looks_like_abstract(line, _next_text(lines, number)):
            if not _is_text(line, MIN_ABSTRACT_WORDS):
                result.skip(where, "not prose")
                continue
            title = pending[1] if pending else None
            abstract = bounded_text(line, "abstract", ABSTRACT_MAX_CHARS, result, where)
            current = Entry(abstract=abstract, title=title)
            result.entries.append(current)
            pending = None
            continue
        if len(line) > TITLE_MAX_CHARS or not _is_text(line, 1):
            result.skip(where, "neither a title nor an abstract")
            continue
        if pending is not None:
            result.skip(f"line {pending[0]}", "title without an abstract")
        pending = (number, line)
        current = None
    if pending is not None:
        result.skip(f"line {pending[0]}", "title without an abstract")
    listed = (page_date or reference).isoformat()
    result.undated = page_date is None and not dated
    for entry in result.entries:
        entry.listed_on = listed
        entry.undated = result.undated
    result.page_date = page_date.isoformat() if page_date else None
    return result
