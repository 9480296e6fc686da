"""A digest as the worker sends it: the papers storage selects, rendered by bot.views."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from bot import views
from storage.config import Config
from storage.digests import TrendingCache, select_papers, window_days
from storage.subscriptions import Subscription


@dataclass
class Digest:
    """The message to send (None: nothing to send) and the papers in it."""

    message: dict | None
    paper_ids: list[int] = field(default_factory=list)


def build_digest(
    db: Database,
    config: Config,
    sub: Subscription,
    due: datetime,
    cache: TrendingCache | None = None,
) -> Digest:
    """The digest `sub` gets for the period due at `due`."""
    days = window_days(db, sub, due)
    papers = select_papers(db, sub, due, config.digest_size, cache, days)
    note = config.empty_digest == "note"
    heading = views.digest_heading(sub, due, days)
    first = sub.last_delivered_at is None
    # Only what fits one Slack message is sent (and marked sent); the rest comes next time.
    papers, message = views.fit_digest(papers, heading, sub.id, note, first=first)
    return Digest(message, [p["id"] for p in papers])
