"""Which papers a digest holds: the period's trending papers (or those matching the
subscription's keywords), never a paper the subscription was already sent."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from itertools import islice

from sqlite_utils import Database

from storage.deliveries import gave_way, sent_paper_ids
from storage.search import filter_matching
from storage.subscriptions import Subscription
from storage.trending import Ranked, ranked, with_papers

# A keyword digest filters the window's ranked papers in growing slices (200, 400, 800...)
# until it has enough: a common keyword stops at the first, a rare one still reaches the
# window's last paper in a few queries.
CANDIDATES = 200


class TrendingCache:
    """Trending lists shared by all digests of one delivery run: at 09:00 thousands of
    digests draw on the same day's list, which is computed once instead of per digest."""

    def __init__(self) -> None:
        self._lists: dict[tuple[str | int, str], list[Ranked]] = {}
        self._lock = threading.Lock()

    def get(self, db: Database, due: datetime, window: str | int) -> list[Ranked]:
        """Every paper of the window (a WINDOWS name or days) ending at `due`, ranked,
        without its text."""
        key = (window, due.date().isoformat())
        with self._lock:
            if key not in self._lists:
                self._lists[key] = ranked(db, due, window)
            return self._lists[key]


def _window(db: Database, sub: Subscription, due: datetime) -> int:
    """The local days a digest due at `due` covers: since the schedule's previous slot, and
    the days before it too when that slot's digest gave way to this one (its retry waited
    past this slot), so those papers are not lost."""
    days = sub.schedule.span(due)
    before = sub.schedule.slot_on(sub.schedule.local(due).date() - timedelta(days=days))
    if before is not None and gave_way(db, sub.id, sub.schedule.period(before)):
        days += sub.schedule.span(before)
    return days


def select_papers(
    db: Database,
    sub: Subscription,
    due: datetime,
    size: int,
    cache: TrendingCache | None = None,
) -> list[dict]:
    """The papers `sub` gets for the period due at `due`, best first."""
    # The days since the schedule's previous digest: a daily one's day, a weekly one's week,
    # and a weekdays one's Monday its weekend too (a paper listed on Saturday is not lost).
    window = _window(db, sub, due)
    sent = sent_paper_ids(db, sub.id)
    # Lazily: a window may hold tens of thousands of papers, and most digests need a few.
    ranked_list = (cache or TrendingCache()).get(db, due, window)
    fresh = (r for r in ranked_list if r.paper_id not in sent)
    if not sub.keywords:
        return with_papers(db, list(islice(fresh, size)))
    chosen: list[Ranked] = []
    step = CANDIDATES
    while len(chosen) < size and (part := list(islice(fresh, step))):
        matching = filter_matching(db, sub.keywords, [r.paper_id for r in part])
        chosen += [r for r in part if r.paper_id in matching]
        step *= 2
    return with_papers(db, chosen[:size])
