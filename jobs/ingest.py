"""Ingest files, folders and URLs into the store; one failing source never stops the others."""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from datetime import date, datetime
from pathlib import Path

from sqlite_utils import Database

from jobs.dumps import parse_dump
from jobs.feeds import parse_feed, parse_hf_json, sniff
from jobs.fetch import DEADLINE_SECONDS, fetch
from jobs.parsing import Parsed
from storage import papers as store
from storage.errors import DatabaseError, SourceError
from storage.models import IngestReport

log = logging.getLogger(__name__)
SUFFIXES = {".txt", ".xml", ".rss", ".atom", ".json"}


def parse_bytes(data: bytes, reference: date) -> tuple[str, Parsed]:
    """Parse an input of any supported format; returns its kind and what was parsed."""
    kind = sniff(data)
    if kind == "json":
        return kind, parse_hf_json(data, reference)
    if kind == "feed":
        return kind, parse_feed(data, reference)
    return kind, parse_dump(data, reference)


def ingest_bytes(
    db: Database, name: str, data: bytes, now: datetime, reference: date | None = None
) -> IngestReport:
    """Parse and store one input; the same bytes a second time change nothing."""
    report = IngestReport(source=name)
    sha = store.content_hash(data)
    if store.already_ingested(db, sha):
        report.already_ingested = True
        return report
    kind, parsed = parse_bytes(data, reference or now.date())
    for skip in parsed.skips:
        log.info("skipped %s in %s: %s", skip.where, name, skip.reason)
    report.parsed = len(parsed.entries)
    report.skipped = len(parsed.skips)
    report.skip_reasons = dict(Counter(skip.reason for skip in parsed.skips))
    return store.store_entries(db, name, kind, sha, parsed.entries, now.isoformat(), report)


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def ingest_file(db: Database, path: Path, now: datetime, listing: date | None) -> IngestReport:
    """Ingest one file; its modification day stands in for a missing year or page date."""
    reference = listing or datetime.fromtimestamp(path.stat().st_mtime).date()
    return ingest_bytes(db, str(path), path.read_bytes(), now, reference)


def ingest_url(
    db: Database,
    url: str,
    now: datetime,
    listing: date | None,
    deadline: float = DEADLINE_SECONDS,
) -> IngestReport:
    """Fetch a URL with the validators of its last fetch, then ingest what changed."""
    validators = store.source_validators(db, url)
    got = fetch(url, validators["etag"], validators["last_modified"], deadline=deadline)
    if got.not_modified:
        return IngestReport(source=url, not_modified=True)
    report = ingest_bytes(db, url, got.body, now, listing or now.date())
    kind = sniff(got.body)
    store.save_validators(db, url, kind, got.etag, got.last_modified)
    return report


def ingest_target(
    db: Database,
    target: str,
    now: datetime,
    listing: date | None = None,
    deadline: float = DEADLINE_SECONDS,
) -> list[IngestReport]:
    """Ingest a file, every supported file in a folder, or an http(s) URL (fetched within
    `deadline` seconds in total)."""
    if target.startswith(("http://", "https://")):
        fetch_one = lambda: ingest_url(db, target, now, listing, deadline)  # noqa: E731
        return [_guarded(db, target, "url", fetch_one, now)]
    path = Path(target)
    if path.is_dir():
        return [
            _guarded(db, str(p), "file", lambda p=p: ingest_file(db, p, now, listing), now)
            for p in _files(path)
        ]
    if path.is_file():
        return [_guarded(db, target, "file", lambda: ingest_file(db, path, now, listing), now)]
    return [IngestReport(source=target, error="no such file, folder or URL")]


def _guarded(db: Database, name: str, kind: str, work, now: datetime) -> IngestReport:
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
    log.warning("source %s failed: %s", name, message)
    try:
        store.record_source_error(db, name, kind, message, now.isoformat())
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(f"The database failed recording an error of {name}: {exc}") from exc
    return IngestReport(source=name, error=message)
