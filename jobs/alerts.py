"""Keyword alerts: papers that arrived since the last run, to each instant subscription, once."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from sqlite_utils import Database

from bot import views
from jobs.delivery import ClientFor, Message, Outcome, Skip, deliver
from storage import meta
from storage import subscriptions as subs
from storage.deliveries import sent_paper_ids
from storage.papers import get_papers, newest_late_listing, newest_paper_id, unlisted_ids
from storage.search import match_each
from storage.subscriptions import Subscription
from storage.text import query_key

log = logging.getLogger(__name__)
BOOKMARK = "alerts_after_paper_id"
LATE_BOOKMARK = "alerts_after_late_listing"


def run_alerts(
    db: Database, client_for: ClientFor, now: datetime, stopping: threading.Event | None = None
) -> Counter:
    """Alert every instant subscriber about matching papers newer than the bookmark. Once
    `stopping` is set (the worker is stopping) no further alert is begun and the bookmark
    stays: the next worker runs the same papers again, and skips what each was sent."""
    outcomes: Counter = Counter()
    newest = newest_paper_id(db)
    mark = meta.get(db, BOOKMARK)
    if mark is None:
        # First run: the papers already here are the back catalogue, not news. The late
        # listings' bookmark first: a run killed before the other is a first run again.
        late_listings(db, LATE_BOOKMARK, passed=True)
        meta.put(db, BOOKMARK, str(newest))
        return outcomes
    after = int(mark)
    late = late_listings(db, LATE_BOOKMARK)
    if newest > after or late[1] > late[0]:
        subscriptions = subs.instant(db)
        norms = {k: query_key(k) for k in {s.keywords for s in subscriptions}}
        matches = _match_queries(db, set(norms.values()), after, newest, late)
        pending = [(sub, matches.get(norms[sub.keywords], [])) for sub in subscriptions]
        period = alert_period("alert", after, newest, late)
        outcomes = send_alerts(db, client_for, pending, period, now, stopping)
        if not (stopping and stopping.is_set()):
            meta.put(db, BOOKMARK, str(newest))
            meta.put(db, LATE_BOOKMARK, str(late[1]))
    if outcomes:
        log.info("alerts: %s", {str(k): v for k, v in outcomes.items()})
    return outcomes


def late_listings(db: Database, bookmark: str, passed: bool = False) -> tuple[int, int]:
    """The late listings an alert run takes, numbered in (first, last]: stored papers that a
    listing named only after the bookmark over paper ids had passed them (looked up for a
    pasted link, or known from a replacement). `passed` moves `bookmark` past them all: the
    first run's back catalogue. Unset (the table is newer than the bookmarks), it is 0."""
    newest = newest_late_listing(db)
    if passed:
        meta.put(db, bookmark, str(newest))
    return int(meta.get(db, bookmark) or 0), newest


def alert_period(kind: str, after: int, newest: int, late: tuple[int, int]) -> str:
    """An alert run's delivery period: what it took, so that a run again after a crash is
    the same delivery."""
    period = f"{kind}:{after}-{newest}"
    return period + (f"+late:{late[0]}-{late[1]}" if late[1] > late[0] else "")


def match_new_papers(
    db: Database, keywords: list[str], after: int, newest: int
) -> dict[str, list[int]]:
    """Papers with ids in (after, newest] matching each distinct keyword query, queried once
    per distinct query (subscriptions share keywords) against only the new papers."""
    # Each distinct text normalised once: many subscriptions share their keywords.
    return _match_queries(db, {query_key(k) for k in set(keywords)}, after, newest)


def _match_queries(
    db: Database, queries: set[str], after: int, newest: int, late: tuple[int, int] = (0, 0)
) -> dict[str, list[int]]:
    # Queries already in their query_key form, each matched once.
    matches = match_each(db, sorted(queries), after, newest, late)
    revisions = unlisted_ids(db, after, newest)  # arXiv replacements are never news
    if not revisions:  # most runs: tens of thousands of lists left as they are
        return matches
    return {query: [i for i in ids if i not in revisions] for query, ids in matches.items()}


# The papers, the subscription and the delivery's key (its Show all lists that delivery's papers).
Render = Callable[[list[dict], Subscription, str], dict]


def _keyword_alert(papers: list[dict], sub: Subscription, key: str) -> dict:
    return views.alert_message(papers, sub.keywords, sub.id, key)


def send_alerts(
    db: Database,
    client_for: ClientFor,
    pending: list[tuple[Subscription, list[int]]],
    period: str,
    now: datetime,
    stopping: threading.Event | None = None,
    render: Render = _keyword_alert,
) -> Counter:
    """Alert each subscription about its papers it was never sent, each through the same
    exactly-once path as digests; one failing subscription never stops the others. None is
    begun once `stopping` is set."""
    outcomes: Counter = Counter()
    for sub, ids in pending:
        if stopping is not None and stopping.is_set():
            break
        try:
            outcome = _alert_one(db, client_for, sub, ids, period, now, render)
        except Exception:
            log.exception("alert for subscription %s failed", sub.id)
            outcome = Outcome.ERROR
        if outcome:
            outcomes[outcome] += 1
    return outcomes


def _alert_one(
    db: Database,
    client_for: ClientFor,
    sub: Subscription,
    ids: list[int],
    period: str,
    now: datetime,
    render: Render,
) -> Outcome | None:
    if not ids:  # most subscriptions, most runs: no ledger reads for them
        return None
    sent = sent_paper_ids(db, sub.id)
    fresh = [i for i in ids if i not in sent]
    if not fresh:
        return None

    def build() -> Message | Skip:
        return Message(render(_papers(db, fresh), sub, f"{sub.id}:{period}"), fresh)

    return deliver(db, client_for, sub, period, build, now)


def _papers(db: Database, ids: list[int]) -> list[dict]:
    """The alert's papers: those it can show (views.ALERT_PAPERS) read whole, the rest by id
    only (its count and Show all need no more): a broad alert's thousands of new papers are
    never all read for one message."""
    shown = views.ALERT_PAPERS
    return [*get_papers(db, ids[:shown]), *({"id": i} for i in ids[shown:])]
