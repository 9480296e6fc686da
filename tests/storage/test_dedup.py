"""Dedup: one row per paper, every sighting kept, the same input twice changes nothing."""

from __future__ import annotations

import pytest

from jobs.ingest import ingest_bytes, ingest_target
from storage.index import indexed_ids
from storage.models import Entry, IngestReport
from storage.papers import store_entries
from tests.conftest import NOW, SEEDS

ABSTRACT = (
    "We propose a method that adapts large language models with a handful of parameters, "
    "and we show on twelve benchmarks that it matches full fine-tuning at a fraction of the cost."
)
OTHER = (
    "Diffusion models generate images by reversing a noising process; we show that a small "
    "distilled sampler reaches the same quality in four steps on three public datasets."
)


def store(db, *entries: Entry, name: str = "test") -> IngestReport:
    # Each call is its own input: the name stands in for the content hash.
    return store_entries(db, name, "test", name, list(entries), NOW.isoformat(), IngestReport(name))


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        pytest.param(
            Entry(ABSTRACT, "A", arxiv_id="2401.00001"),
            Entry(OTHER, "B", arxiv_id="2401.00001"),
            True,
            id="same-arxiv-id",
        ),
        pytest.param(
            Entry(ABSTRACT, "LoRA: Low-Rank Adaptation"),
            Entry(OTHER, "lora -- low rank adaptation!"),
            True,
            id="normalized-title",
        ),
        pytest.param(
            Entry(ABSTRACT, "Efficient Continual Pre-training by Mitigating the Stability Gap"),
            Entry(OTHER, "Efficient Continual Pretraining by Mitigating the Stability Gap"),
            True,
            id="fuzzy-title",
        ),
        pytest.param(
            Entry(ABSTRACT, "Scaling Laws for Neural Language Models, Part 1"),
            Entry(OTHER, "Scaling Laws for Neural Language Models, Part 2"),
            False,
            id="numbers-differ",
        ),
        pytest.param(
            Entry(ABSTRACT, "LoRA: Low-Rank Adaptation", arxiv_id="2401.00001"),
            Entry(OTHER, "LoRA: Low-Rank Adaptation", arxiv_id="2401.00002"),
            False,
            id="conflicting-arxiv-ids",
        ),
        pytest.param(
            Entry(ABSTRACT, "Adapters for Language Models"),
            Entry(OTHER, "Diffusion Samplers in Four Steps"),
            False,
            id="different",
        ),
        pytest.param(
            Entry(ABSTRACT, None), Entry(ABSTRACT, None), True, id="untitled-same-abstract"
        ),
        pytest.param(
            Entry(ABSTRACT, None),
            Entry(ABSTRACT.replace("twelve", "eleven"), None),
            True,
            id="untitled-near-abstract",
        ),
        pytest.param(
            Entry(ABSTRACT, "Adapters for Language Models"),
            Entry(ABSTRACT, None),
            True,
            id="untitled-joins-titled",
        ),
        pytest.param(
            Entry(ABSTRACT, "Adapters for Language Models"),
            Entry(ABSTRACT, "A Wholly Different Title"),
            False,
            id="titled-never-merge-by-abstract",
        ),
    ],
)
def test_dedup_rules(db, first, second, same):
    store(db, first, name="one")
    report = store(db, second, name="two")
    assert db["papers"].count == (1 if same else 2)
    assert (report.merged, report.new_papers) == ((1, 0) if same else (0, 1))
    assert db["sightings"].count == 2


def test_later_title_names_an_untitled_paper(db):
    store(db, Entry(ABSTRACT, None), name="one")
    assert next(db.query("SELECT title_derived FROM papers"))["title_derived"] == 1
    store(db, Entry(ABSTRACT, "Adapters for Language Models", authors_count=3), name="two")
    row = next(db.query("SELECT title, title_derived, authors_count FROM papers"))
    assert row == {"title": "Adapters for Language Models", "title_derived": 0, "authors_count": 3}
    assert db["papers"].count == 1


def test_seeds_store_shared_papers_once_and_reingest_changes_nothing(db):
    first = [r for p in sorted(SEEDS.iterdir()) for r in ingest_target(db, str(p), NOW)]
    assert [(r.parsed, r.new_papers, r.merged) for r in first] == [
        (39, 39, 0),
        (67, 61, 6),
        (11, 11, 0),
    ]
    ernie = list(db.query("SELECT id FROM papers WHERE title LIKE 'ERNIE 3.0:%'"))
    assert len(ernie) == 1
    listed = {
        r["listed_on"]
        for r in db.query("SELECT listed_on FROM sightings WHERE paper_id = ?", [ernie[0]["id"]])
    }
    assert listed == {"2026-03-12", "2026-03-16"}
    counts = (db["papers"].count, db["sightings"].count)
    again = ingest_target(db, str(SEEDS), NOW)
    assert all(r.already_ingested for r in again)
    assert (db["papers"].count, db["sightings"].count) == counts == (111, 117)


def test_same_paper_twice_in_one_input_is_one_sighting(db):
    data = b"A Title\n" + ABSTRACT.encode() + b"\nA Title\n" + ABSTRACT.encode() + b"\n"
    report = ingest_bytes(db, "twice.txt", data, NOW)
    assert (report.new_papers, report.repeated, db["sightings"].count) == (1, 1, 1)


def test_failed_ingest_leaves_no_partial_paper(db, monkeypatch):
    import storage.papers as papers

    calls = {"n": 0}
    real = papers._create

    def failing_create(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk gone")
        return real(*args, **kwargs)

    monkeypatch.setattr(papers, "_create", failing_create)
    with pytest.raises(RuntimeError):
        store(db, Entry(ABSTRACT, "One"), Entry(OTHER, "Two"))
    # The failed batch rolled back whole; the input is not marked ingested.
    assert (db["papers"].count, db["sightings"].count) == (0, 0)
    assert indexed_ids(db) == []
    assert next(db.query("SELECT complete FROM inputs"))["complete"] == 0
    monkeypatch.setattr(papers, "_create", real)
    again = store(db, Entry(ABSTRACT, "One"), Entry(OTHER, "Two"))
    assert (again.new_papers, db["papers"].count, db["sightings"].count) == (2, 2, 2)
    assert next(db.query("SELECT complete FROM inputs"))["complete"] == 1


def test_input_row_counts_what_the_ingest_did(db):
    store(db, Entry(ABSTRACT, "One"), Entry(OTHER, "Two"), name="first")
    store(db, Entry(ABSTRACT, "One"), name="second")
    rows = list(db.query("SELECT parsed, new_papers, merged, complete FROM inputs ORDER BY id"))
    assert rows == [
        {"parsed": 0, "new_papers": 2, "merged": 0, "complete": 1},
        {"parsed": 0, "new_papers": 0, "merged": 1, "complete": 1},
    ]
