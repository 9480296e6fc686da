"""What is trending, and why: upvotes, their growth, how widely listed, how recent."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlite_utils import Database

from storage.papers import get_papers

WINDOWS = {"day": 1, "week": 7}
# Half-life of a listing's freshness in days: a paper listed two days before the newest
# listing counts half as much as one listed on it.
HALF_LIFE_DAYS = 2.0
# Digits an upvote count is padded to where it is compared as text: any 64-bit integer's.
COUNT_WIDTH = 20
W_UPVOTES = 1.0  # per e-fold of upvotes (log1p): 10 upvotes ~ 2.4, 100 ~ 4.6
W_GROWTH = 2.0  # per e-fold of upvotes gained within the window over the earlier peak
W_SOURCES = 1.0  # per extra source (dump, feed) that carried the paper
W_LISTINGS = 0.5  # per extra listing (the same source on another day)
# How many days before its window a digest looks for papers listed after the previous
# digest chose (a day's listing still filling then): a week, so that a weekly digest's
# last day is covered too, and a file of a month-old listing dropped in late is no news.
LATE_DAYS = 7


def score(upvotes: int, growth: int, sources: int, listings: int, age_days: float) -> float:
    """The trending score: (1 + weighted signals) × 0.5^(age / half-life)."""
    signal = (
        1.0
        + W_UPVOTES * math.log1p(max(upvotes, 0))
        + W_GROWTH * math.log1p(max(growth, 0))
        + W_SOURCES * max(sources - 1, 0)
        + W_LISTINGS * max(listings - sources, 0)
    )
    return signal * 0.5 ** (max(age_days, 0.0) / HALF_LIFE_DAYS)


@dataclass(frozen=True)
class Signals:
    """Why a paper trends: its upvotes, their growth since `since`, how widely listed."""

    upvotes: int
    growth: int
    since: str | None  # ISO day the growth is counted from
    sources: int
    last_listed: str  # ISO day


def signal(upvotes: int, growth: int, sources: int, listings: int) -> float:
    """The score before recency decay: how much evidence there is that a paper matters."""
    return score(upvotes, growth, sources, listings, 0.0)


def anchor_day(db: Database, now: datetime) -> date | None:
    """The newest listing day up to now: trending is relative to it, so a quiet day or a
    stale store still shows its latest papers instead of nothing. Only dated listings set
    it: an undated dump's ingest day says nothing about when its papers were listed."""
    row = next(
        db.query(
            "SELECT MAX(listed_on) AS d FROM sightings WHERE listing = 'dated' AND listed_on <= ?",
            [now.date().isoformat()],
        )
    )
    return date.fromisoformat(row["d"]) if row["d"] else None


def trending(
    db: Database,
    now: datetime,
    window: str = "day",
    limit: int = 10,
    exclude: set[int] | None = None,
) -> list[dict]:
    """The top papers listed in the window ending at the newest listing day, best first.

    Undated sightings count inside the window (by their ingest day) but never move it; arXiv
    replacements are not listings at all. An untitled paper never ranks above a titled one
    with more signal (see _titled_first)."""
    return with_papers(db, ranked(db, now, window, exclude)[:limit])


def with_papers(db: Database, top: list[Ranked]) -> list[dict]:
    """The papers of ranked items, in their order, each with its score and signals."""
    papers = get_papers(db, [item.paper_id for item in top])
    for paper, item in zip(papers, top, strict=True):
        paper["score"] = round(item.score, 3)
        paper["signals"] = item.why
    return papers


def ranked(
    db: Database,
    now: datetime,
    window: str | int = "day",
    exclude: set[int] | None = None,
    only: list[int] | None = None,
) -> list[Ranked]:
    """Every paper listed in the window (a name in WINDOWS, or a number of days), best
    first, without loading the papers: a keyword digest looks past the top few for its
    matches. `only`, when given, ranks those papers of the window alone."""
    anchor = anchor_day(db, now)
    if anchor is None:
        return []
    days = window if isinstance(window, int) else WINDOWS[window]
    start = anchor - timedelta(days=days - 1)
    listed = "SELECT value FROM json_each(:only)" if only is not None else _LISTED
    rows = db.query(
        f"""
        SELECT s.paper_id,
               MAX(CASE WHEN s.listed_on >= :start THEN COALESCE(s.upvotes, 0) END) AS upvotes,
               MAX(CASE WHEN s.listed_on < :start THEN s.upvotes END) AS before,
               -- The day of that highest count (the latest, for a tie): the count
               -- zero-padded to any 64-bit integer's width before the day, so that the
               -- greatest string is that row's (a negative count, from before counts were
               -- bounded, as 0).
               MAX(CASE WHEN s.listed_on < :start AND s.upvotes IS NOT NULL
                        THEN printf('%0{COUNT_WIDTH}d', MAX(s.upvotes, 0)) || s.listed_on END)
                   AS best_before,
               MIN(CASE WHEN s.listed_on >= :start AND s.upvotes IS NOT NULL
                        THEN s.listed_on END) AS first_counted,
               -- The first count in the window (earliest day, then earliest stored): a
               -- later, lower count from another source or read is no growth over it.
               MIN(CASE WHEN s.listed_on >= :start AND s.upvotes IS NOT NULL
                        THEN s.listed_on || printf('%0{COUNT_WIDTH}d', s.id)
                             || printf('%0{COUNT_WIDTH}d', MAX(s.upvotes, 0)) END)
                   AS first_in_window,
               MAX(s.listed_on) AS last_listed,
               COUNT(DISTINCT s.source_id) AS sources,
               -- A listing is a source's list of one day: the same dump read twice (half
               -- written, then whole) is one listing, a source listing it again another day two.
               COUNT(DISTINCT s.source_id || ' ' || s.listed_on) AS listings,
               (SELECT title_derived FROM papers WHERE id = s.paper_id) AS untitled
        FROM sightings s
        WHERE s.paper_id IN ({listed})
          -- The window's papers (or the few named, `only`) are looked up by their ids: the
          -- planner took the listing index, which reads every sighting up to the anchor.
          -- `+` keeps it off that index: at 1M papers a day's list took 0.68 s and now
          -- 0.03, a week's 0.85 and 0.16.
          AND +s.listed_on <= :anchor AND +s.listing IN ('dated', 'undated')
        GROUP BY s.paper_id
        """,
        {"start": start.isoformat(), "anchor": anchor.isoformat(), "only": json.dumps(only)},
    )
    scored = []
    for row in rows:
        if exclude and row["paper_id"] in exclude:
            continue
        upvotes = row["upvotes"] or 0
        first = row["first_in_window"]
        first_count = int(first[-COUNT_WIDTH:]) if first else None
        baseline = row["before"] if row["before"] is not None else first_count
        growth = upvotes - baseline if baseline is not None else 0
        # The day the baseline was counted on, not the first listing: "+12 since Mar 15".
        since = (
            row["best_before"][COUNT_WIDTH:] if row["before"] is not None else row["first_counted"]
        )
        age = (anchor - date.fromisoformat(row["last_listed"])).days
        value = score(upvotes, growth, row["sources"], row["listings"], age)
        why = Signals(upvotes, growth, since, row["sources"], row["last_listed"])
        evidence = signal(upvotes, growth, row["sources"], row["listings"])
        scored.append(Ranked(value, row["paper_id"], why, evidence, bool(row["untitled"])))
    return _titled_first(scored)


_LISTED = """SELECT paper_id FROM sightings
            WHERE listed_on BETWEEN :start AND :anchor AND listing IN ('dated', 'undated')"""


def listed_after(db: Database, now: datetime, window: int, mark: int, until: str) -> list[Ranked]:
    """The papers listed after sighting `mark` on the LATE_DAYS before the window
    (of `window` days ending at the newest listing day), up to the day `until`, ranked as
    the window's are: added to a day's listing after a digest had chosen that day's papers
    (its day `until` was the last it could choose among), they belong to the next digest,
    unless listed by the mark on that day or a later one already (a choice then).
    A day after it no digest chose among (a subscription paused, or moved to another time)
    is not caught up."""
    anchor = anchor_day(db, now)
    if anchor is None:
        return []
    start = anchor - timedelta(days=window - 1)
    rows = db.execute(
        """
        SELECT DISTINCT s.paper_id FROM sightings s
        WHERE s.id > :mark AND s.listing IN ('dated', 'undated')
          AND s.listed_on >= :lo AND s.listed_on < :start AND s.listed_on <= :until
          -- Listed by the mark on that day or after: among the earlier digest's choices.
          -- A listing by then of an earlier day only is not (arXiv's Tuesday runner-up
          -- featured on Hugging Face's Wednesday page after Wednesday's digest).
          AND NOT EXISTS (
            SELECT 1 FROM sightings o
            WHERE o.paper_id = s.paper_id AND o.id <= :mark AND o.listed_on >= s.listed_on
              AND o.listing IN ('dated', 'undated'))
        """,
        {
            "mark": mark,
            "lo": (start - timedelta(days=LATE_DAYS)).isoformat(),
            "start": start.isoformat(),
            "until": until,
        },
    ).fetchall()
    if not rows:
        return []
    return ranked(db, now, window + LATE_DAYS, only=[paper_id for (paper_id,) in rows])


def merged(ranked_list: list[Ranked], more: list[Ranked]) -> list[Ranked]:
    """One trending list of both, in trending order (each paper once)."""
    known = {item.paper_id for item in ranked_list}
    return _titled_first([*ranked_list, *(item for item in more if item.paper_id not in known)])


@dataclass(frozen=True)
class Ranked:
    """One paper's place in a trending list: its score and why."""

    score: float
    paper_id: int
    why: Signals
    signal: float  # before recency decay
    untitled: bool


def _titled_first(scored: list[Ranked]) -> list[Ranked]:
    """Best first by score, except that an untitled paper (known only by an abstract
    fragment) never takes a place from a titled paper with more signal: it is placed after
    every titled paper whose signal beats its own, however fresh it is."""
    order = lambda item: (-item.score, -item.paper_id)  # noqa: E731
    titled = sorted((i for i in scored if not i.untitled), key=order)
    untitled = sorted((i for i in scored if i.untitled), key=order)
    # The strongest signal among the titled papers from each position on.
    strongest = [0.0] * (len(titled) + 1)
    for n in range(len(titled) - 1, -1, -1):
        strongest[n] = max(titled[n].signal, strongest[n + 1])
    merged: list[Ranked] = []
    t = 0
    for item in untitled:
        while t < len(titled) and (order(titled[t]) < order(item) or strongest[t] > item.signal):
            merged.append(titled[t])
            t += 1
        merged.append(item)
    return merged + titled[t:]
