"""Which papers a digest holds: the period's trending papers (or those matching the
subscription's keywords), never a paper the subscription was already sent."""

from __future__ import annotations

import threading
from datetime import datetime

from sqlite_utils import Database

from storage.deliveries import sent_paper_ids
from storage.schedule import Frequency
from storage.search import filter_matching
from storage.subscriptions import Subscription
from storage.trending import trending

CANDIDATES = 200


class TrendingCache:
    """Trending lists shared by all digests of one delivery run: at 09:00 thousands of
    digests draw on the same day's list, which is computed once instead of per digest."""

    def __init__(self) -> None:
        self._lists: dict[tuple[str, str], list[dict]] = {}
        self._lock = threading.Lock()

    def get(self, db: Database, due: datetime, window: str) -> list[dict]:
        """The top CANDIDATES papers of the window ending at `due`."""
        key = (window, due.date().isoformat())
        with self._lock:
            if key not in self._lists:
                self._lists[key] = trending(db, due, window, limit=CANDIDATES)
            return self._lists[key]


def select_papers(
    db: Database,
    sub: Subscription,
    due: datetime,
    size: int,
    cache: TrendingCache | None = None,
) -> list[dict]:
    """The papers `sub` gets for the period due at `due`, best first."""
    window = "week" if sub.frequency == Frequency.WEEKLY else "day"
    sent = sent_paper_ids(db, sub.id)
    candidates = [p for p in (cache or TrendingCache()).get(db, due, window) if p["id"] not in sent]
    if sub.keywords:
        matching = filter_matching(db, sub.keywords, [p["id"] for p in candidates])
        candidates = [p for p in candidates if p["id"] in matching]
    return candidates[:size]
