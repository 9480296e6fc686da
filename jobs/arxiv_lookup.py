"""Fetching one paper by arXiv id through the arXiv API, for a pasted link the store lacks.

The same safety rules as feeds (jobs.fetch: timeout, size cap, errors as SourceError), the
same parser (jobs.feeds) and the same store path with dedup (storage.papers). Each id is
fetched once: a found paper is in the store from then on, a miss is remembered for hours (a
failed lookup for minutes), and concurrent lookups of one id (Slack sends link_shared from
the composer and again once the message is posted) wait for each other instead of fetching
twice."""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime

from sqlite_utils import Database

from jobs.feeds import parse_feed
from jobs.fetch import fetch
from storage import arxiv_lookups
from storage.config import Config
from storage.errors import SourceError
from storage.models import IngestReport
from storage.papers import by_arxiv_id, content_hash, store_entries

log = logging.getLogger(__name__)
MAX_BYTES = 1024 * 1024  # one entry is a few KB
SOURCE = "arXiv API"
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock(arxiv_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(arxiv_id, threading.Lock())


def lookup_url(api: str, arxiv_id: str) -> str:
    """The arXiv API query for one id."""
    return f"{api}?{urllib.parse.urlencode({'id_list': arxiv_id, 'max_results': 1})}"


def fetch_paper(db: Database, api: str, arxiv_id: str, now: datetime) -> dict | None:
    """The stored paper with this id, fetched from the arXiv API and stored first if need be."""
    with _lock(arxiv_id):
        found = by_arxiv_id(db, arxiv_id)
        if found or arxiv_lookups.recently_missed(db, arxiv_id, now):
            return found
        url = lookup_url(api, arxiv_id)
        try:
            body = fetch(url, max_bytes=MAX_BYTES).body
        except SourceError as exc:
            log.warning("arXiv lookup of %s failed: %s", arxiv_id, exc)
            arxiv_lookups.record(db, arxiv_id, False, now, str(exc))
            return None
        parsed = parse_feed(body, now.date())
        if parsed.unreadable:  # an HTML error page from a proxy is an outage, not an answer
            log.warning("arXiv lookup of %s failed: %s", arxiv_id, parsed.unreadable)
            arxiv_lookups.record(db, arxiv_id, False, now, parsed.unreadable)
            return None
        # The API answers an unknown or malformed id with an "Error" entry: only an entry
        # carrying the asked-for id is the paper.
        entries = [e for e in parsed.entries if e.arxiv_id == arxiv_id]
        if entries:
            # A pasted link brings an old paper as often as a new one: never news.
            entries[0].looked_up = True
            report = IngestReport(source=SOURCE)
            store_entries(
                db, SOURCE, "feed", content_hash(body), entries[:1], now.isoformat(), report
            )
        found = by_arxiv_id(db, arxiv_id)
        detail = "" if found else arxiv_lookups.NOT_FOUND
        arxiv_lookups.record(db, arxiv_id, found is not None, now, detail)
        return found


def arxiv_lookup(config: Config) -> Callable[[Database, str], dict | None]:
    """The lookup the bot's link unfurls use (bot.context.Deps.lookup)."""

    def lookup(db: Database, arxiv_id: str) -> dict | None:
        return fetch_paper(db, config.arxiv_api, arxiv_id, datetime.now(UTC))

    return lookup
