"""Which papers a digest holds: the period's trending papers (or those matching the
subscription's keywords), never a paper the subscription was already sent."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from itertools import islice

from sqlite_utils import Database

from storage.deliveries import chosen_mark, never_sent, never_sent_since, sent_paper_ids
from storage.schedule import period_day
from storage.search import filter_matching
from storage.subscriptions import Status, Subscription
from storage.trending import Ranked, listed_after, merged, ranked, with_papers

# A keyword digest filters the window's ranked papers in growing slices (200, 400, 800...)
# until it has enough: a common keyword stops at the first, a rare one still reaches the
# window's last paper in a few queries.
CANDIDATES = 200
# A digest after missed ones covers their days too, at most this many days in all.
CATCH_UP_DAYS = 14


class TrendingCache:
    """Trending lists shared by all digests of one delivery run: at 09:00 thousands of
    digests draw on the same day's list, which is computed once instead of per digest (and
    again only after the ingest stored a sighting)."""

    def __init__(self) -> None:
        self._lists: dict[tuple[str | int, str, tuple[int, str] | None], list[Ranked]] = {}
        self._seen = 0  # the newest sighting when the lists were ranked
        self._lock = threading.Lock()

    def get(
        self,
        db: Database,
        due: datetime,
        window: str | int,
        mark: tuple[int, str] | None = None,
    ) -> list[Ranked]:
        """Every paper of the window (a WINDOWS name or days) ending at `due`, ranked,
        without its text; with a digest's `mark` (see chosen_mark), and the papers listed
        after it on the days before the window, up to the mark's day, too. Digests of one
        time share a mark."""
        key = (window, due.date().isoformat(), None)
        with self._lock:
            # A digest's claim, made before, recorded the newest sighting as its mark: the
            # lists are ranked again once a newer one is stored (the ingest runs beside the
            # deliveries), or a paper a later claim took for seen was missing from its list
            # and reached none of its digests.
            newest = db.execute("SELECT MAX(id) FROM sightings").fetchone()[0] or 0
            if newest > self._seen:
                self._lists.clear()
                self._seen = newest
            if key not in self._lists:
                self._lists[key] = ranked(db, due, window)
            if mark is None or not isinstance(window, int):
                return self._lists[key]
            late = (window, key[1], mark)
            if late not in self._lists:
                more = listed_after(db, due, window, *mark)
                self._lists[late] = merged(self._lists[key], more) if more else self._lists[key]
            return self._lists[late]


def window_days(db: Database, sub: Subscription, due: datetime) -> int:
    """The local days a digest due at `due` covers: back to the day after the schedule's
    previous slot, and further over the slots before it whose digests were never sent (the
    worker was down past grace, or a later digest replaced one whose retry waited), so their
    papers are not lost; at most CATCH_UP_DAYS in all (a weekly digest: two weeks).

    Only the worker's own outage is caught up: a slot that came with no digest after the
    worker was back (the subscription paused, or moved to another time) ends the catch-up
    there, so a digest resumed after a pause holds its own days alone."""
    schedule = sub.schedule
    day = schedule.local(due).date()
    days = back = schedule.span(due)
    # Each earlier slot in reach: the days back to cover it, its period, its moment.
    reach: list[tuple[int, str, datetime]] = []
    while back < CATCH_UP_DAYS:
        slot = schedule.slot_on(day - timedelta(days=back))
        if slot is None:  # pragma: no cover - span() always ends on a slot's day
            break
        back += schedule.span(slot)
        reach.append((min(back, CATCH_UP_DAYS), schedule.period(slot), slot))
    unsent = never_sent(db, sub.id, [period for _, period, _ in reach]) if reach else {}
    gap: datetime | None = None  # the latest slot with no row since the last row met
    for covering, period, slot in reach:
        if period not in unsent:
            # No row: the worker was down (three days down record the first slot as
            # missed, and none after it), or the subscription was new, paused or moved.
            gap = gap or slot
            continue
        settled = unsent[period]
        # Sent or settled otherwise: its days were its own digest's. Never sent, but a slot
        # came without a digest after the worker was back: paused or moved, not down.
        if settled is None or (gap is not None and gap > settled):
            return days
        days, gap = covering, None
    first = day - timedelta(days=CATCH_UP_DAYS - 1)
    if gap is not None and _skipped_before(db, sub, first, gap):
        # No row back to the first day in reach: a worker down for longer than
        # CATCH_UP_DAYS skipped a digest from before it on its way back (after `gap`).
        return reach[-1][0]
    return days


def _skipped_before(db: Database, sub: Subscription, first: date, since: datetime) -> bool:
    """Whether a digest of a period that began before the local day `first` was settled as
    never sent at or after `since`. Only before: a daily digest missed before the schedule
    became weekly has a period the weekly slots in reach never name, but it falls on their
    days (and a clock that jumped ahead skipped later periods)."""
    starts = (period_day(period) for period in never_sent_since(db, sub.id, since))
    return any(start is not None and start < first for start in starts)


def select_papers(
    db: Database,
    sub: Subscription,
    due: datetime,
    size: int,
    cache: TrendingCache | None = None,
    window: int | None = None,
) -> list[dict]:
    """The papers `sub` gets for the period due at `due` (over `window` days, else
    window_days), best first."""
    # The days since the schedule's previous digest: a daily one's day, a weekly one's week,
    # and a weekdays one's Monday its weekend too (a paper listed on Saturday is not lost).
    window = window or window_days(db, sub, due)
    sent = sent_paper_ids(db, sub.id)
    # Lazily: a window may hold tens of thousands of papers, and most digests need a few.
    # A paper added to a day's listing after the previous digest had chosen comes too.
    ranked_list = (cache or TrendingCache()).get(db, due, window, chosen_mark(db, sub.id))
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


def next_days(db: Database, sub: Subscription) -> int | None:
    """The local days `sub`'s next digest covers (window_days at its due moment), so that a
    preview is headed as that digest will be; None when none is scheduled (paused, or an
    instant alert)."""
    if sub.is_instant or sub.status != Status.ACTIVE or not sub.next_due_at:
        return None
    return window_days(db, sub, datetime.fromisoformat(sub.next_due_at))


def next_digest_papers(db: Database, sub: Subscription, now: datetime, size: int) -> list[dict]:
    """The papers `sub`'s next digest holds as things stand, for a preview: selected as the
    worker selects them at its due moment, over the days it covers (selected as of `now`, a
    preview of a Monday digest on Friday showed the week to Friday); as of `now` when no
    digest is scheduled (paused)."""
    days = next_days(db, sub)
    if days is None or not sub.next_due_at:
        return select_papers(db, sub, now, size)
    return select_papers(db, sub, datetime.fromisoformat(sub.next_due_at), size, window=days)
