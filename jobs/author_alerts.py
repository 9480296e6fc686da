"""Author alerts: a DM for each new paper by an author someone follows, once per paper.

A follow is an instant personal subscription whose `author` is set (storage.authors), so its
alerts take the one exactly-once path of keyword alerts and digests (jobs.delivery.deliver:
ledger claim, stored message, post with a delivery key, confirm; sent_papers keeps each
paper to one alert). The bookmark is the newest row of paper_authors, not of papers: a paper
that first came from a dump without names and then from an arXiv feed or HF JSON with them
"arrives" for its authors when their names do; and one stored before anything listed it
(looked up for a pasted link) arrives when a listing names it (storage's late listings)."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime

from sqlite_utils import Database

from bot import views
from jobs.alerts import alert_period, late_listings, send_alerts
from jobs.delivery import ClientFor
from storage import authors, meta
from storage.subscriptions import Subscription

log = logging.getLogger(__name__)
BOOKMARK = "author_alerts_after_row"
LATE_BOOKMARK = "author_alerts_after_late_listing"


def run_author_alerts(
    db: Database, client_for: ClientFor, now: datetime, stopping: threading.Event | None = None
) -> Counter:
    """Alert every follower about papers whose author names arrived since the bookmark
    (none begun once `stopping` is set, and the bookmark then stays, as in run_alerts)."""
    outcomes: Counter = Counter()
    newest = authors.newest_author_row(db)
    mark = meta.get(db, BOOKMARK)
    if mark is None:
        # First run: the names already here are the back catalogue, not news. The late
        # listings' bookmark first: a run killed before the other is a first run again.
        late_listings(db, LATE_BOOKMARK, passed=True)
        meta.put(db, BOOKMARK, str(newest))
        return outcomes
    after = int(mark)
    late = late_listings(db, LATE_BOOKMARK)
    if newest <= after and late[1] <= late[0]:
        return outcomes
    follows = authors.follows(db)
    wanted = {sub.id: authors.parse_name(sub.author) for sub in follows}
    names = [n for n in wanted.values() if n]
    found = authors.papers_by_followed(db, names, after, newest, late)
    pending = _once_per_person(follows, {sub.id: found.get(wanted[sub.id], []) for sub in follows})
    period = alert_period("author", after, newest, late)
    outcomes = send_alerts(db, client_for, pending, period, now, stopping, _render)
    if not (stopping and stopping.is_set()):
        meta.put(db, BOOKMARK, str(newest))
        meta.put(db, LATE_BOOKMARK, str(late[1]))
    if outcomes:
        log.info("author alerts: %s", {str(k): v for k, v in outcomes.items()})
    return outcomes


def _once_per_person(
    follows: list[Subscription], found: dict[int, list[int]]
) -> list[tuple[Subscription, list[int]]]:
    """Each follow with its papers, a paper going to one follow of each person only: two
    follows may turn out to be one author ("Mueller" and "Muller" were two names until a
    paper wrote "Müller"), and a DM per follow would tell of the paper twice."""
    sent: dict[tuple[str, str], set[int]] = {}
    pending = []
    for sub in follows:
        taken = sent.setdefault((sub.team_id, sub.user_id), set())
        papers = [paper for paper in found[sub.id] if paper not in taken]
        taken.update(papers)
        pending.append((sub, papers))
    return pending


def _render(papers: list[dict], sub: Subscription, key: str) -> dict:
    return views.author_alert_message(papers, sub.author or "", sub.id)
