"""The benchmark code at smoke size: it runs, and what it measures is correct (no timings)."""

from __future__ import annotations

from pathlib import Path

from bench import run
from storage import connect
from storage.authors import papers_by
from storage.papers import get_papers


def test_bench_pieces_at_smoke_size(tmp_path: Path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    groups, copies = run.build_corpus(1500, folder)
    assert copies > 100 and len(list(folder.iterdir())) == 2
    db_path = tmp_path / "bench.db"
    ingested = run.ingest(db_path, folder)
    assert ingested["entries"] == 1500 + copies
    # The corpus's authors are names the store indexes (ingest writes their rows, as for
    # real papers): an author of a paper from the feed file (a dump has only a count) finds it.
    paper = groups[1][0]
    by = papers_by(connect(db_path), paper.authors[0], limit=1_000)
    found = get_papers(connect(db_path), by.paper_ids)
    assert paper.arxiv_id in {p["arxiv_id"] for p in found}
    # The child's own peak, not this (bigger) process's: a small ingest stays small.
    assert 10 < ingested["peak_rss_mb"] < 400 and ingested["written_mb"] > 0
    # Its split, sampled: the heap is most of a small ingest's peak and never above it.
    assert 10 < ingested["peak_anon_mb"] <= ingested["peak_rss_mb"]
    assert 0 < ingested["file_mb_at_peak"] < ingested["peak_rss_mb"]
    # The floor stores the same entries, with nothing else to do.
    floor = run.bulk_floor(groups, tmp_path)
    assert floor["entries"] == ingested["entries"]
    assert floor["with_index_papers_per_s"] < floor["sqlite_papers_per_s"]
    rebuilt = run.reindex(db_path)
    assert rebuilt["index_mb"] > 0
    # The planted famous papers are found by their queries (first, even at this size).
    assert {q: r["position"] for q, r in run.relevance(db_path).items()} == {
        "lora": 1,
        "low rank adaptation": 1,
        "attention is all you need": 1,
        "diffusion probabilistic": 1,
    }
    quality = run.dedup_quality(db_path, groups)
    assert quality["f1"] >= 0.98 and quality["papers"] == connect(db_path)["papers"].count
    assert run.baseline_dedup(groups)["f1"] < quality["f1"]  # the exact-title dict misses copies
    searched = run.search_latency(db_path, 1500)
    assert set(searched) == {"rare", "common", "multi-word", "phrase", "prefix"}
    # Every class finds papers (the rare word is one of titles and abstracts).
    assert all(searched[c]["total"] > 0 for c in ("rare", "common", "multi-word", "prefix"))
    alerts = run.alert_matching(db_path, subscriptions=300, new=500)
    assert alerts["new_papers"] == 500 and alerts["distinct_queries"] <= 300
    assert alerts["mismatches_with_baseline"] == 0  # grouping changes speed, not results
    phrased = run.alert_matching(db_path, subscriptions=300, new=500, phrases=0.5)
    assert phrased["mismatches_with_baseline"] == 0  # respelled phrases match as searched
    assert phrased["distinct_queries"] != alerts["distinct_queries"]  # other keywords
    fanned = run.fanout(db_path, subscriptions=40, channels=20)
    assert fanned["delivered"] == 40 and fanned["outcomes"] == {"sent": 40}
    acked = run.ack_latency(db_path, concurrency=5, rounds=1)
    assert acked["requests"] == 5
    alike = run.more_like_this(db_path, runs=20)
    assert alike["runs"] == 20 and alike["with_results"] == 20
    # The next day's copies of stored papers are merged, its new papers stored, in a copy.
    later = run.next_day(db_path, 1500, tmp_path, groups, entries=500)
    assert (later["entries"], later["new_papers"], later["merged"]) == (500, 450, 50)
    assert connect(db_path)["papers"].count == quality["papers"]
    table = run.table(
        [
            {
                "size": 1500,
                **{
                    "search": searched,
                    "ingest": ingested,
                    "reindex": rebuilt,
                    "dedup": quality,
                    "dedup_baseline": run.baseline_dedup(groups),
                    "alerts": alerts,
                    "alerts-phrases": phrased,
                    "fanout": fanned,
                    "ack": acked,
                    "similar": alike,
                    "next-day": later,
                    "db_mb": 1.0,
                    "load_before": (1.0, 1.0, 1.0),
                    "load_after": (1.0, 1.0, 1.0),
                },
            }
        ]
    )
    # A row per figure; the floor was not given, so its row says so.
    assert table.count("\n") == 23 and "| bulk-insert floor" in table and "| – |" in table
