"""Ingest files, folders and URLs into the store; one failing source never stops the others."""

from __future__ import annotations

import codecs
import ctypes
import hashlib
import io
import logging
import re
import sqlite3
from datetime import date, datetime
from pathlib import Path
from typing import BinaryIO

from sqlite_utils import Database

from bot.text import plural
from jobs.dumps import parse_dump
from jobs.feeds import parse_feed, parse_hf_json, sniff
from jobs.fetch import DEADLINE_SECONDS, MAX_BYTES, fetch
from jobs.parsing import Parsed
from storage import papers as store
from storage.errors import DatabaseError, SourceError
from storage.models import IngestReport
from storage.text import clean

log = logging.getLogger(__name__)
SUFFIXES = {".txt", ".xml", ".rss", ".atom", ".json"}
NO_FILES = "no .txt, .xml, .rss, .atom or .json file in this folder"


# Feeds and JSON are parsed whole, so they are capped (as fetched URLs are); dumps are read
# line by line and need no cap.
MAX_DOCUMENT_BYTES = MAX_BYTES
# A date in a file name ("2026-03-16.txt", "hf_20260316.json") is the listing date of a dump
# without a date line.
_NAME_DATE = re.compile(r"(?<![0-9A-Za-z])((?:19|20)\d\d)([-_.]?)(\d\d)\2(\d\d)(?![0-9A-Za-z])")


def name_date(name: str) -> date | None:
    """The date in a file name or the last segment of a URL path, if it holds one."""
    base = name.rstrip("/").rsplit("/", 1)[-1]
    for match in _NAME_DATE.finditer(base):
        try:
            return date(int(match.group(1)), int(match.group(3)), int(match.group(4)))
        except ValueError:
            continue
    return None


def parse_bytes(data: bytes, reference: date, dated: bool = True) -> tuple[str, Parsed]:
    """Parse an input of any supported format; returns its kind and what was parsed."""
    return _parse(io.BytesIO(data), data[:8192], reference, dated)


class _FromUtf16:
    """A UTF-16 input (with its byte order mark) read as UTF-8 bytes, chunk by chunk."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")

    def read(self, size: int = -1) -> bytes:
        """Up to about `size` bytes' worth of the input, as UTF-8."""
        while True:
            raw = self.stream.read(size)
            text = self.decoder.decode(raw, final=not raw)
            if text or not raw:
                return text.encode("utf-8", errors="replace")


def _utf16(head: bytes) -> bool:
    """UTF-16 text: a byte order mark, then mostly ASCII characters (English papers), as
    binary data that happens to start with the mark never is."""
    if head[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        return False
    text = head.decode("utf-16", errors="ignore")
    return len(text.encode("ascii", errors="ignore")) * 2 >= len(text)


def _parse(stream: BinaryIO, head: bytes, reference: date, dated: bool) -> tuple[str, Parsed]:
    if _utf16(head):
        # A dump or JSON saved as UTF-16 (Notepad's "Unicode", PowerShell's `>`) is text,
        # not binary data; a UTF-16 feed is left to feedparser, which reads its mark itself.
        text = head.decode("utf-16", errors="ignore").encode()
        if sniff(text) == "feed":
            return "feed", _parse_document(stream, "feed", reference)
        stream, head = _FromUtf16(stream), text  # type: ignore[assignment]
    kind = sniff(head)
    if kind == "binary":
        return kind, Parsed(unreadable="not a dump, feed or JSON (binary data)")
    if kind == "dump":
        parsed = parse_dump(stream, reference, dated)
    else:
        parsed = _parse_document(stream, kind, reference)
    if not parsed.entries and parsed.skipped and not parsed.unreadable:
        # Items, but not one paper among them (a feed cut off inside its first item, JSON
        # whose items lost their fields): a failure to see, not "0 parsed" with the source
        # ok. An input with no item at all (a weekend's empty feed) is no failure.
        reasons = "; ".join(f"{n}× {why}" for why, n in parsed.skip_counts.items())
        parsed.unreadable = f"{_NOT_A[kind]}: no paper found ({reasons})"
    return kind, parsed


_NOT_A = {
    "dump": "not a Daily Papers dump",
    "feed": "not a readable RSS/Atom feed",
    "json": "not daily papers JSON",
}


def _parse_document(stream: BinaryIO, kind: str, reference: date) -> Parsed:
    """A feed or JSON, read whole (up to MAX_DOCUMENT_BYTES)."""
    data = stream.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        return Parsed(unreadable=f"{kind} larger than {MAX_DOCUMENT_BYTES:,} bytes")
    return (parse_hf_json if kind == "json" else parse_feed)(data, reference)


def _sha256(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()


def ingest_bytes(
    db: Database,
    name: str,
    data: bytes,
    now: datetime,
    reference: date | None = None,
    batch: int = store.BATCH,
) -> IngestReport:
    """Parse and store one input; the same bytes a second time change nothing."""
    return ingest_stream(db, name, io.BytesIO(data), now, reference, batch)


def ingest_stream(
    db: Database,
    name: str,
    stream: BinaryIO,
    now: datetime,
    listing: date | None = None,
    batch: int = store.BATCH,
    repeat_failures: bool = True,
) -> IngestReport:
    """Parse and store one input read from a seekable binary stream, never raising for
    what the input holds: an unreadable input is recorded as the source's failure.

    A dump's listing date is its page's date line, else `listing` (--date), else a date in
    its name; with none of them its papers are undated (see storage.trending). An empty
    input is reported as such and nothing of it is recorded. Without `repeat_failures`
    (the worker's inbox), bytes this source already failed on are not read again."""
    report = IngestReport(source=name)
    if not stream.read(1):  # before the hash: no empty input is ever "already ingested"
        report.empty = True
        return report
    stream.seek(0)
    sha = _sha256(stream)
    if store.already_ingested(db, sha):
        report.already_ingested = True
        # A source that failed before (a broken link, since fixed) is fine again.
        store.clear_source_error(db, name, now.isoformat())
        return report
    if not repeat_failures and (known := store.failed_on(db, name, sha)):
        return IngestReport(source=name, error=known, known_failure=True)
    listing = listing or name_date(name)
    head = stream.read(8192)
    stream.seek(0)
    kind, parsed = _parse(stream, head, listing or now.date(), dated=listing is not None)
    report.skipped = parsed.skipped
    report.skip_reasons = dict(parsed.skip_counts)
    if parsed.skipped:  # one line per input, however many lines were junk
        reasons = "; ".join(f"{n}× {why}" for why, n in parsed.skip_counts.items())
        log.info("skipped %s of %s: %s", plural(parsed.skipped, "part"), name, reasons)
    if parsed.unreadable:
        report.error = parsed.unreadable + _short_text(kind, head)
        store.record_source_error(db, name, kind, report.error, now.isoformat(), sha)
        return report
    report.parsed = len(parsed.entries)
    report.undated = parsed.undated
    return store.store_entries(db, name, kind, sha, parsed.entries, now.isoformat(), report, batch)


SHORT_TEXT_BYTES = 200


def _short_text(kind: str, head: bytes) -> str:
    """What a short plain-text input says, for its failure: an upstream's bare answer such
    as arXiv's "Rate exceeded." (HTTP 200) is the reason the admin needs."""
    if kind != "dump" or len(head) > SHORT_TEXT_BYTES:
        return ""
    encoding = "utf-16" if _utf16(head) else "utf-8"
    words = clean(head.decode(encoding, errors="replace"))
    return f'; it reads "{words}"' if words else ""


def _entries(folder: Path) -> list[Path]:
    # Everything named like an input, file or not: a link to nothing or a folder called
    # x.txt is reported (see not_a_file), never passed over without a word.
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)


def source_name(path: Path | str) -> str:
    """A file's path as its source's name: the bytes of a name that is not UTF-8 (which
    Python keeps as lone surrogates) as `\\xe9`, which SQLite stores and a terminal prints.
    One such file stopped the whole inbox: recording its name raised."""
    text = str(path)
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def not_a_file(path: Path) -> str | None:
    """Why a path cannot be read as an input file, or None for a regular file."""
    if path.is_file():
        return None
    if path.is_symlink() and not path.exists():
        return "broken link: its target does not exist"
    if path.is_dir():
        return "a folder, not a file"
    if path.exists():  # never opened: reading a FIFO would block the run
        return "not a regular file (a pipe, socket or device)"
    return "no such file, folder or URL"


def ingest_file(
    db: Database,
    path: Path,
    now: datetime,
    listing: date | None,
    batch: int = store.BATCH,
    repeat_failures: bool = True,
) -> IngestReport:
    """Ingest one file, read as a stream (a dump of any size in bounded memory)."""
    with path.open("rb") as stream:
        return ingest_stream(db, source_name(path), stream, now, listing, batch, repeat_failures)


def ingest_url(
    db: Database,
    url: str,
    now: datetime,
    listing: date | None,
    deadline: float = DEADLINE_SECONDS,
    batch: int = store.BATCH,
) -> IngestReport:
    """Fetch a URL with the validators of its last fetch, then ingest what changed."""
    validators = store.source_validators(db, url)
    got = fetch(url, validators["etag"], validators["last_modified"], deadline=deadline)
    if got.not_modified:
        return IngestReport(source=url, not_modified=True)
    if not got.body:
        # An empty file in the inbox may be filled later; a URL answering nothing is an
        # outage, and its validators must not turn the next fetches into 304s.
        raise SourceError(f"{url}: empty response (0 bytes)")
    report = ingest_bytes(db, url, got.body, now, listing, batch)
    kind = sniff(got.body)
    store.save_validators(db, url, kind, got.etag, got.last_modified)
    return report


def ingest_target(
    db: Database,
    target: str,
    now: datetime,
    listing: date | None = None,
    deadline: float = DEADLINE_SECONDS,
    batch: int = store.BATCH,
    empty_folder_fails: bool = False,
    repeat_failures: bool = True,
) -> list[IngestReport]:
    """Ingest a file, every supported file in a folder, or an http(s) URL (fetched within
    `deadline` seconds in total; `batch` entries per write transaction). A folder with no
    supported file gives no report (the worker's empty inbox), or a failed one when
    `empty_folder_fails` (a folder an admin named). A folder's entry named like an input
    that is no file (a broken link, a folder) fails; without `repeat_failures` (the
    worker's inbox) it is recorded once, until it changes or is fixed, not at every scan."""
    if target[:8].lower().startswith(("http://", "https://")):  # schemes ignore case
        fetch_one = lambda: ingest_url(db, target, now, listing, deadline, batch)  # noqa: E731
        return [_guarded(db, target, "url", fetch_one, now)]
    path = Path(target)
    if path.is_dir():
        entries = _entries(path)
        if not entries and empty_folder_fails:
            return [IngestReport(source=target, error=NO_FILES)]
        return [_ingest_entry(db, p, now, listing, batch, repeat_failures) for p in entries]
    if path.is_file():
        work = lambda: ingest_file(db, path, now, listing, batch)  # noqa: E731
        return [_guarded(db, source_name(path), "file", work, now)]
    return [IngestReport(source=source_name(target), error=not_a_file(path))]


def _ingest_entry(
    db: Database,
    path: Path,
    now: datetime,
    listing: date | None,
    batch: int,
    repeat_failures: bool,
) -> IngestReport:
    """Ingest one entry of a folder; one that is no file is recorded as its failure."""
    reason = not_a_file(path)
    if reason is None:
        work = lambda: ingest_file(db, path, now, listing, batch, repeat_failures)  # noqa: E731
        return _guarded(db, source_name(path), "file", work, now, repeat_failures, _version(path))
    return _failed(db, source_name(path), "file", reason, now, repeat_failures)


def _version(path: Path) -> str | None:
    """Which version of a file a failure to read it was on: its modification time and size
    (a file that cannot be read cannot be hashed), so a changed file is tried and told of
    again."""
    try:
        info = path.stat()
    except OSError:
        return None
    return f"stat:{info.st_mtime_ns}:{info.st_size}"


def _guarded(
    db: Database,
    name: str,
    kind: str,
    work,
    now: datetime,
    repeat_failures: bool = True,
    version: str | None = None,
) -> IngestReport:
    """Run one source's ingest; a failure is recorded and reported, never raised."""
    try:
        return work()
    except (SourceError, OSError) as exc:
        message = str(exc)
    except sqlite3.DatabaseError as exc:  # the store itself: recording it would fail too
        raise DatabaseError(f"The database failed during ingest of {name}: {exc}") from exc
    except Exception as exc:  # one broken source must never stop the others
        log.exception("ingest of %s failed", name)
        message = f"unexpected {type(exc).__name__}"
    finally:
        give_memory_back()
    return _failed(db, name, kind, message, now, repeat_failures, version)


def _libc() -> ctypes.CDLL | None:
    try:
        # The C library the interpreter runs on (dlopen of the program itself), without
        # ctypes.util.find_library, which runs ldconfig in a subprocess at every start.
        libc = ctypes.CDLL(None)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


_LIBC = _libc()


def give_memory_back() -> None:
    """Hand the memory an ingested input freed back to the system. glibc keeps what was
    freed (the parsed input, the index writer's threads' buffers) in its arenas, so a
    process ingesting input after input grew: over the bench corpus's first seven files in
    one process, 300-417 MB resident after each and a 512 MB peak, against 134-209 MB and
    383 MB (the first file's own) with this after each input (measured)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _failed(
    db: Database,
    name: str,
    kind: str,
    message: str,
    now: datetime,
    repeat_failures: bool = True,
    version: str | None = None,
) -> IngestReport:
    """Record a source's failure and report it (the CLI prints it, the worker logs it).
    Without `repeat_failures` (the worker's inbox) a failure the source is already recorded
    with (a broken link; a file it may not read, while the file is the same `version`) is
    reported as known, not recorded again."""
    # A fetch's error names its URL first (`…/rss: HTTP 500`): it is said once, as the
    # source's name, not twice ("ingest …/rss failed: …/rss: HTTP 500").
    message = message.removeprefix(f"{name}: ") or message
    if not repeat_failures:
        known = store.failed_on(db, name, version) if version else store.last_error(db, name)
        if known == message:
            return IngestReport(source=name, error=message, known_failure=True)
    # Not logged here: the worker logs each failed report once (jobs.inbox), the CLI prints it.
    try:
        store.record_source_error(db, name, kind, message, now.isoformat(), version)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"The database failed recording an error of {name}: {exc}") from exc
    return IngestReport(source=name, error=message)
