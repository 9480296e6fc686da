"""Scheduled ingest: the inbox folder and the configured feed URLs."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

from sqlite_utils import Database

from jobs.ingest import ingest_target, source_name
from storage import index as search_index
from storage import meta
from storage import papers as store
from storage.config import Config
from storage.errors import ConfigError
from storage.models import IngestReport

log = logging.getLogger(__name__)


SCANNED_KEY = "inbox_scanned_at"


def _dropped_since(path: str, scanned: str | None) -> bool:
    # A file written after the last scan is news, even when its content is not.
    try:
        return scanned is None or Path(path).stat().st_mtime > float(scanned)
    except OSError:
        return False


def check_inbox(config: Config) -> Path:
    """The inbox folder, made when missing; a ConfigError in one line when it cannot be made
    or listed (PAPERS_INBOX naming a file logged a traceback at every ingest run)."""
    inbox = Path(config.inbox_dir)
    try:
        inbox.mkdir(parents=True, exist_ok=True)
        with os.scandir(inbox):
            pass
    except OSError as exc:
        file = inbox.exists() and not inbox.is_dir()
        why = "it is a file" if file else (exc.strerror or str(exc))
        raise ConfigError(
            f"PAPERS_INBOX {inbox} is not a folder the worker can use: {why}"
        ) from exc
    return inbox


def ingest_inbox(db: Database, config: Config, now: datetime) -> list[IngestReport]:
    """Ingest every new file in the inbox folder; failures are recorded, not raised.

    A file dropped since the last scan whose content was ingested before, or that is empty,
    says so in the log (once), so a copy that changes nothing is not a mystery."""
    # First index what an interrupted run left past the index's watermark (or rebuild it).
    search_index.ensure(db)
    inbox = check_inbox(config)
    scanned = meta.get(db, SCANNED_KEY)
    # A broken entry is logged and recorded once, not every scan (stats keeps showing it).
    reports = ingest_target(db, str(inbox), now, batch=config.ingest_batch, repeat_failures=False)
    for report in reports:
        if report.empty and _dropped_since(report.source, scanned):
            # Not recorded, so read again at every scan: said once, when it appears.
            log.info("%s: empty file, nothing ingested", report.source)
        if report.already_ingested and _dropped_since(report.source, scanned):
            log.info(
                "%s: already ingested (same content as an earlier input), nothing changed",
                report.source,
            )
    _forget_deleted(db, inbox)
    meta.put(db, SCANNED_KEY, str(now.timestamp()))
    return _logged(reports)


def _forget_deleted(db: Database, inbox: Path) -> None:
    """A failing file the admin deleted from the inbox fails no more (`papers stats`)."""
    # Each entry's source name (a name that is not UTF-8 is stored escaped, see
    # source_name); a broken link is listed too: it is still failing.
    try:
        present = {source_name(entry) for entry in inbox.iterdir()}
    except OSError:
        return
    for name in store.failing_sources(db):
        path = Path(name)
        if path.parent == inbox and name not in present:
            store.forget_failure(db, name)
            log.info("%s: deleted from the inbox, no longer failing", name)


def ingest_feeds(db: Database, config: Config, now: datetime) -> list[IngestReport]:
    """Fetch and ingest every feed, each within the feed deadline; failures are recorded."""
    reports: list[IngestReport] = []
    for url in config.feed_urls:
        reports += ingest_target(
            db, url, now, deadline=config.feed_deadline_seconds, batch=config.ingest_batch
        )
    return _logged(reports)


def ingest_sources(db: Database, config: Config, now: datetime) -> list[IngestReport]:
    """The inbox, then the feeds (the CLI and tests; the worker runs them as two jobs)."""
    return ingest_inbox(db, config, now) + ingest_feeds(db, config, now)


def _logged(reports: list[IngestReport]) -> list[IngestReport]:
    fresh = [
        r
        for r in reports
        if not (r.already_ingested or r.not_modified or r.known_failure or r.empty)
    ]
    for report in fresh:
        if report.error:
            log.warning("ingest %s failed: %s", report.source, report.error)
        else:
            # What a killed earlier run stored is said, or a finished file reads as empty.
            earlier = (
                f", {report.resumed} stored by an earlier, unfinished ingest"
                if report.resumed
                else ""
            )
            log.info(
                "ingested %s: %d new, %d merged, %d skipped%s",
                report.source,
                report.new_papers,
                report.merged,
                report.skipped,
                earlier,
            )
    return reports
