"""Keyword alerts: papers that arrived since the last run, to each instant subscription, once."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from sqlite_utils import Database

from bot import views
from jobs.delivery import ClientFor, send
from jobs.slack import open_channel
from storage import deliveries as ledger
from storage.papers import get_papers
from storage.search import match_each

log = logging.getLogger(__name__)
BOOKMARK = "alerts_after_paper_id"


def _max_paper_id(db: Database) -> int:
    return next(db.query("SELECT COALESCE(MAX(id), 0) AS n FROM papers"))["n"]


def run_alerts(db: Database, client_for: ClientFor, now: datetime) -> Counter:
    """Alert every instant subscriber about matching papers newer than the bookmark."""
    outcomes: Counter = Counter()
    newest = _max_paper_id(db)
    mark = ledger.get_meta(db, BOOKMARK)
    if mark is None:
        # First run: the papers already here are the back catalogue, not news.
        ledger.set_meta(db, BOOKMARK, str(newest))
        return outcomes
    after = int(mark)
    if newest > after:
        subscriptions = ledger.instant(db)
        matches = match_new_papers(db, [s.keywords for s in subscriptions], after, newest)
        for sub in subscriptions:
            ids = matches.get(_norm(sub.keywords))
            if not ids:
                continue
            try:
                outcomes[_alert_one(db, client_for, sub, ids, after, newest, now)] += 1
            except Exception:
                log.exception("alert for subscription %s failed", sub.id)
                outcomes["error"] += 1
        ledger.set_meta(db, BOOKMARK, str(newest))
    if outcomes:
        log.info("alerts: %s", dict(outcomes))
    return outcomes


def _norm(keywords: str) -> str:
    return " ".join(keywords.casefold().split())


def match_new_papers(
    db: Database, keywords: list[str], after: int, newest: int
) -> dict[str, list[int]]:
    """Papers with ids in (after, newest] matching each distinct keyword query, queried once
    per distinct query (subscriptions share keywords) against only the new papers."""
    return match_each(db, sorted({_norm(k) for k in keywords}), after, newest)


def _alert_one(
    db: Database,
    client_for: ClientFor,
    sub,
    ids: list[int],
    after: int,
    newest: int,
    now: datetime,
) -> str:
    ids = [i for i in ids if i not in ledger.sent_paper_ids(db, sub.id)]
    if not ids:
        return "nothing"
    client = client_for(sub.team_id)
    if client is None:
        return "no-token"
    claim = ledger.claim(db, sub.id, f"alert:{after}-{newest}", now)
    if not claim.fresh:
        return "already"
    message = views.alert_message(get_papers(db, ids), sub.keywords, sub.id)
    channel = open_channel(client, sub.kind, sub.target)
    ledger.prepare(db, claim.id, channel, message, ids)
    claim.channel, claim.message, claim.paper_ids = channel, message, ids
    return send(db, client, sub, claim, now, None)
