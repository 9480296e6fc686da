"""Trending order and reasons, from sightings built by hand and from the seeds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.views import reason_text
from jobs.ingest import ingest_target
from storage.models import Entry, IngestReport
from storage.papers import store_entries
from storage.trending import Signals, anchor_day, score, trending
from tests.conftest import SEEDS

NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)


def abstract(n: int) -> str:
    topics = ["retrieval", "diffusion", "adapters", "robotics", "speech", "chemistry", "vision"]
    return f"We study {topics[n]} at scale and report results on several public benchmarks."


def listing(
    db, name: str, day: str, papers: dict[int, int | None], titled=True, undated=False
) -> None:
    entries = [
        Entry(
            abstract(n),
            f"Paper {chr(65 + n)} about {n}" if titled else None,
            upvotes=up,
            listed_on=day,
            undated=undated,
        )
        for n, up in papers.items()
    ]
    store_entries(db, name, "test", name + day, entries, NOW.isoformat(), IngestReport(name))


def test_growth_sources_and_recency_order(db):
    listing(db, "hf", "2026-03-19", {0: 10, 1: 50, 2: 5})
    listing(db, "hf", "2026-03-20", {0: 60, 1: 52, 2: 5})
    listing(db, "rss", "2026-03-20", {2: None, 3: None})
    day = trending(db, NOW, "day")
    order = [p["title"] for p in day]
    # A: +50 since yesterday beats B's bigger but flat count; C is in two sources.
    assert order[0] == "Paper A about 0"
    assert day[0]["signals"] == Signals(60, 50, "2026-03-19", 1, "2026-03-20")
    assert reason_text(day[0]["signals"]) == "+50 upvotes since Mar 19, listed Mar 20"
    assert order.index("Paper C about 2") < order.index("Paper D about 3")
    c = next(p for p in day if p["title"].startswith("Paper C"))
    assert c["signals"].sources == 2 and "in 2 sources" in reason_text(c["signals"])
    assert [p["score"] for p in day] == sorted((p["score"] for p in day), reverse=True)


def test_week_window_includes_older_listings_with_decay(db):
    listing(db, "hf", "2026-03-15", {4: 100})
    listing(db, "hf", "2026-03-20", {5: 100})
    assert [p["title"] for p in trending(db, NOW, "day")] == ["Paper F about 5"]
    week = trending(db, NOW, "week")
    assert [p["title"] for p in week] == ["Paper F about 5", "Paper E about 4"]
    assert week[1]["score"] < week[0]["score"]


def test_listings_after_now_are_ignored_and_empty_store_is_empty(db):
    assert trending(db, NOW) == []
    listing(db, "hf", "2026-03-25", {6: 3})
    assert trending(db, NOW) == []


def test_exclude_skips_papers_already_sent(db):
    listing(db, "hf", "2026-03-20", {0: 3, 1: 2})
    first = trending(db, NOW, limit=1)
    rest = trending(db, NOW, exclude={first[0]["id"]})
    assert first[0]["id"] not in {p["id"] for p in rest} and rest


@pytest.mark.parametrize(
    ("better", "worse"),
    [
        pytest.param((10, 0, 1, 1, 0), (2, 0, 1, 1, 0), id="more-upvotes"),
        pytest.param((10, 8, 1, 1, 0), (10, 0, 1, 1, 0), id="growth"),
        pytest.param((0, 0, 3, 3, 0), (0, 0, 1, 1, 0), id="more-sources"),
        pytest.param((5, 0, 1, 1, 0), (5, 0, 1, 1, 3), id="fresher"),
    ],
)
def test_score_components(better, worse):
    assert score(*better) > score(*worse)


def test_seeds_trend_with_reasons(seeded):
    week = trending(seeded, datetime(2026, 3, 17, 9, tzinfo=UTC), "week", limit=50)
    assert week and all(reason_text(p["signals"]) and p["score"] > 0 for p in week)
    ernie = next(p for p in week if p["title"].startswith("ERNIE 3.0"))
    assert "in 2 sources" in reason_text(ernie["signals"])


def test_undated_listing_never_sets_the_newest_day(db):
    listing(db, "hf", "2026-03-16", {0: 40, 1: 3})
    listing(db, "inbox", "2026-03-20", {2: None, 3: None}, undated=True)  # its ingest day
    assert anchor_day(db, NOW).isoformat() == "2026-03-16"
    assert [p["title"] for p in trending(db, NOW, "day")] == ["Paper A about 0", "Paper B about 1"]


def test_undated_papers_trend_inside_a_window_dated_inputs_define(db):
    listing(db, "hf", "2026-03-20", {0: 1})
    listing(db, "inbox", "2026-03-20", {2: 9}, undated=True)
    assert [p["title"] for p in trending(db, NOW, "day")] == ["Paper C about 2", "Paper A about 0"]


def test_untitled_paper_never_outranks_a_titled_one_with_more_signal(db):
    listing(db, "hf", "2026-03-14", {0: 50})
    listing(db, "hf", "2026-03-20", {4: 3})
    listing(db, "dump", "2026-03-20", {1: None, 2: None}, titled=False)
    listing(db, "hf-untitled", "2026-03-20", {3: 200}, titled=False)
    # Paper A's 50 upvotes six days ago decay to a score of 0.6, below the 1.0 of a fresh
    # bare listing; but a bare listing is less signal, so the untitled ones come after it.
    # An untitled paper with more signal than any titled one may still lead.
    week = [(p["title_derived"], p["signals"].upvotes) for p in trending(db, NOW, "week")]
    assert week == [(True, 200), (False, 3), (False, 50), (True, 0), (True, 0)]


def test_seeds_without_a_date_trend_titled_papers_with_reasons(db):
    # `make run` on a fresh clone: no --date, so the abstract-only dump is undated, on the
    # day it is ingested (months after the dated pages).
    fresh_clone = datetime(2026, 11, 26, 9, tzinfo=UTC)
    for report in ingest_target(db, str(SEEDS), fresh_clone):
        assert report.error is None
    for window in ("day", "week"):
        top = trending(db, fresh_clone, window, limit=5)
        assert len(top) == 5 and not any(p["title_derived"] for p in top)
        reasons = [reason_text(p["signals"]) for p in top]
        assert all("listed Mar 16" in r for r in reasons), reasons
    assert reasons[0] == "1 upvote, in 2 sources, listed Mar 16"


@pytest.mark.parametrize(
    ("days", "reason"),
    [
        pytest.param(
            {"2026-03-10": 5, "2026-03-15": 50, "2026-03-20": 62},
            "+12 upvotes since Mar 15, listed Mar 20",
            id="growth-over-the-last-count",
        ),
        # Growth counts from the highest count before the window: a later, lower count
        # (another read, another source) is no growth. The reason named the later day.
        pytest.param(
            {"2026-03-10": 10, "2026-03-12": 5, "2026-03-20": 12},
            "+2 upvotes since Mar 10, listed Mar 20",
            id="from-the-highest-count",
        ),
        # Counts stored before they were bounded: the day is still a day.
        pytest.param(
            {"2026-03-10": 10**15, "2026-03-20": 10**15 + 1},
            "+1 upvote since Mar 10, listed Mar 20",
            id="a-huge-count",
        ),
        pytest.param(
            {"2026-03-12": None, "2026-03-16": 40, "2026-03-20": 45},
            "+5 upvotes since Mar 16, listed Mar 20",
            id="an-earlier-listing-without-a-count",
        ),
    ],
)
def test_reason_names_the_day_the_growth_is_counted_from(db, days, reason):
    """ "+12 upvotes since Mar 15": the 12 are counted from Mar 15's 50, so the reason must
    not name the paper's first listing (Mar 10, with 5)."""
    for day, upvotes in days.items():
        listing(db, "hf", day, {0: upvotes})
    (paper,) = trending(db, NOW, "day")
    assert reason_text(paper["signals"]) == reason


def test_a_dump_read_half_written_then_whole_lists_its_papers_once(db):
    """The worker read a dump while it was still being copied into the inbox, then the whole
    file: the papers in both reads are listed once that day, and do not outrank the rest."""

    def read(sha: str, papers: list[int]) -> None:
        entries = [
            Entry(abstract(n), f"Paper {chr(65 + n)} about {n}", upvotes=3, listed_on="2026-03-20")
            for n in papers
        ]
        name = "inbox/2026-03-20.txt"
        store_entries(db, name, "dump", sha, entries, NOW.isoformat(), IngestReport(name))

    read("first-half", [0, 1])
    read("whole-file", [0, 1, 2, 3])
    day = trending(db, NOW, "day")
    assert len(day) == 4
    assert len({p["score"] for p in day}) == 1, [(p["title"], p["score"]) for p in day]


def test_growth_within_the_window_counts_from_its_first_count_not_a_later_lower_one(db):
    """50 upvotes on Hugging Face on Mar 14, 10 in another source's listing on Mar 15, 60 on
    Mar 20: the week's reason said "+50 upvotes since Mar 14" (growth over the lowest count
    in the window, however late), and the paper ranked on 50 upvotes it never gained. It
    gained 10 since Mar 14."""
    listing(db, "hf", "2026-03-14", {0: 50})
    listing(db, "other", "2026-03-15", {0: 10})
    listing(db, "hf", "2026-03-20", {0: 60})
    (paper,) = trending(db, NOW, "week")
    assert paper["signals"].growth == 10
    assert reason_text(paper["signals"]) == "+10 upvotes since Mar 14, in 2 sources, listed Mar 20"


def _a_month_of_listings(db, february: int = 28) -> list[tuple[int, str]]:
    """200 papers listed a day through February's first days, and on Mar 19 and 20: (id,
    day) each."""
    db.execute("INSERT INTO sources (id, name, kind) VALUES (1, 'hf', 'test')")
    db.execute("INSERT INTO inputs (id, source_id, sha256) VALUES (1, 1, 'hf')")
    days = [f"2026-02-{day:02d}" for day in range(1, february + 1)] + ["2026-03-19", "2026-03-20"]
    rows = [(n, day) for n, day in enumerate((d for d in days for _ in range(200)), 1)]
    db.conn.executemany(
        "INSERT INTO papers (id, title, abstract) VALUES (?, ?, 'An abstract.')",
        [(n, f"Paper {n}") for n, _ in rows],
    )
    db.conn.executemany(
        "INSERT INTO sightings (id, paper_id, source_id, input_id, listed_on, upvotes)"
        " VALUES (?, ?, 1, 1, ?, 1)",
        [(n, n, day) for n, day in rows],
    )
    return rows


def test_a_digests_late_papers_are_ranked_without_reading_the_whole_store(db):
    # A digest's papers added to an earlier day's listing after its previous digest chose
    # are ranked alone (`only`): the listing's index read every sighting up to the newest
    # day to find them, ~140 ms at a million papers for each distinct mark of a run.
    from storage.trending import listed_after
    from tests.storage.test_authors import _steps

    rows = _a_month_of_listings(db)
    late = len(rows) + 1  # added to Thursday's listing after Thursday's digest chose
    db.execute("INSERT INTO papers (id, title, abstract) VALUES (?, 'Late', 'A text.')", [late])
    db.execute(
        "INSERT INTO sightings (id, paper_id, source_id, input_id, listed_on, upvotes)"
        " VALUES (?, ?, 1, 1, '2026-03-19', 9)",
        [late, late],
    )
    found: list = []
    steps = _steps(db, lambda: found.extend(listed_after(db, NOW, 1, late - 1, "2026-03-19")))
    assert [item.paper_id for item in found] == [late]
    assert steps < len(rows), steps


def test_a_days_trending_list_reads_that_days_papers_not_the_whole_store(db, tmp_path):
    # `/papers trending` and each digest run ranked a day's papers after reading every
    # sighting up to that day through the listing's index: 0.68 s at a million papers.
    from storage import connect
    from storage.trending import ranked
    from tests.storage.test_authors import _steps

    def steps(store) -> int:
        found: list = []
        taken = _steps(store, lambda: found.extend(ranked(store, NOW, "day")))
        assert len(found) == 200  # Mar 20's papers
        return taken

    _a_month_of_listings(db)
    few = connect(tmp_path / "two-days.db")
    _a_month_of_listings(few, february=0)
    # The same day's list costs the same with a month of older listings in the store (it
    # took 3.2 times as many steps).
    assert steps(db) <= steps(few) * 1.1
