"""Author alerts: a DM for each new paper by an author someone follows, once per paper.

A follow is an instant personal subscription whose `author` is set (storage.authors), so its
alerts take the one exactly-once path of keyword alerts and digests (jobs.delivery.deliver:
ledger claim, stored message, post with a delivery key, confirm; sent_papers keeps each
paper to one alert). The bookmark is the newest row of paper_authors, not of papers: a paper
that first came from a dump without names and then from an arXiv feed or HF JSON with them
"arrives" for its authors when their names do."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from sqlite_utils import Database

from bot import views
from jobs.delivery import ClientFor, Message, Outcome, deliver
from storage import authors, meta
from storage.deliveries import sent_paper_ids
from storage.papers import get_papers
from storage.subscriptions import Subscription

log = logging.getLogger(__name__)
BOOKMARK = "author_alerts_after_row"


def run_author_alerts(db: Database, client_for: ClientFor, now: datetime) -> Counter:
    """Alert every follower about papers whose author names arrived since the bookmark."""
    outcomes: Counter = Counter()
    newest = authors.newest_author_row(db)
    mark = meta.get(db, BOOKMARK)
    if mark is None:
        # First run: the names already here are the back catalogue, not news.
        meta.put(db, BOOKMARK, str(newest))
        return outcomes
    after = int(mark)
    if newest <= after:
        return outcomes
    follows = authors.follows(db)
    wanted = {sub.id: authors.parse_name(sub.author) for sub in follows}
    found = authors.papers_by_followed(db, [n for n in wanted.values() if n], after, newest)
    for sub in follows:
        name = wanted[sub.id]
        ids = found.get(name, []) if name else []
        if not ids:
            continue
        try:
            outcome = _alert_one(db, client_for, sub, ids, f"author:{after}-{newest}", now)
        except Exception:
            log.exception("author alert for subscription %s failed", sub.id)
            outcome = Outcome.ERROR
        if outcome:
            outcomes[outcome] += 1
    meta.put(db, BOOKMARK, str(newest))
    if outcomes:
        log.info("author alerts: %s", {str(k): v for k, v in outcomes.items()})
    return outcomes


def _alert_one(
    db: Database,
    client_for: ClientFor,
    sub: Subscription,
    ids: list[int],
    period: str,
    now: datetime,
) -> Outcome | None:
    """One author alert, through the shared exactly-once delivery path."""
    sent = sent_paper_ids(db, sub.id)
    fresh = [i for i in ids if i not in sent]
    if not fresh:
        return None

    def build() -> Message:
        papers = get_papers(db, fresh)
        return Message(views.author_alert_message(papers, sub.author or "", sub.id), fresh)

    return deliver(db, client_for, sub, period, build, now)
