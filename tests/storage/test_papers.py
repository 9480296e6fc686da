"""The ingest write path: a batch is matched before it takes the write lock, and matched
again under the lock when another process wrote meanwhile, so dedup never misses a paper."""

from __future__ import annotations

import pytest

from storage import connect, papers
from storage.index import indexed_ids
from storage.models import Entry, IngestReport
from storage.search import search
from tests.conftest import NOW

ABSTRACT = (
    "We propose a method that adapts large language models with a handful of parameters, "
    "and we show on twelve benchmarks that it matches full fine-tuning at a fraction of the cost."
)
OTHER = (
    "Diffusion models generate images by reversing a noising process; we show that a small "
    "distilled sampler reaches the same quality in four steps on three public datasets."
)


def store(db, name: str, *entries: Entry) -> IngestReport:
    return papers.store_entries(
        db, name, "test", name, list(entries), NOW.isoformat(), IngestReport(name)
    )


def test_a_paper_stored_by_another_process_while_a_batch_matches_is_merged(
    db, tmp_path, monkeypatch
):
    # The bot stores a looked-up paper after the ingest read its snapshot, before it writes.
    match = papers._Batch.__init__
    bot = connect(tmp_path / "papers.db")
    interleaved = []

    def snapshot_then_bot_writes(self, db, pairs):
        match(self, db, pairs)
        if not interleaved:
            interleaved.append(True)
            store(bot, "arXiv API", Entry(ABSTRACT, "LoRA Soup", arxiv_id="2401.00001"))

    monkeypatch.setattr(papers._Batch, "__init__", snapshot_then_bot_writes)
    report = store(
        db,
        "dump",
        Entry(ABSTRACT, "LoRA Soup", arxiv_id="2401.00001"),
        Entry(OTHER, "Four-Step Samplers"),
    )
    assert interleaved
    # Matched again under the lock: the bot's paper is found, not stored a second time.
    assert (report.new_papers, report.merged, report.merges_by_rule) == (1, 1, {"arxiv": 1})
    assert [r["title"] for r in db.query("SELECT title FROM papers ORDER BY id")] == [
        "LoRA Soup",
        "Four-Step Samplers",
    ]
    assert db["sightings"].count == 3
    assert indexed_ids(db) == [1, 2]  # the ingest indexed the bot's paper too, each once


def test_did_you_mean_knows_the_words_of_every_paper_of_a_large_input(db):
    """A batch's words are collected a few hundred papers at a time (at once, they held
    ~200 MB): a word only the last paper of a 1,200-paper input holds is still offered."""
    entries = [
        Entry(title=f"Study number {n} of adapters", abstract=f"{ABSTRACT} Run {n}.")
        for n in range(1199)
    ]
    entries.append(Entry(title="Quokkaformer vision study", abstract=OTHER))
    report = store(db, "big.txt", *entries)
    assert report.new_papers == 1200
    assert search(db, "quokaformer").suggestions == ["quokkaformer"]


def test_an_ingest_finishing_a_stopped_one_says_so_not_that_its_input_repeats(db, monkeypatch):
    """`papers ingest` run again after a kill (or beside another ingest of the same file)
    reported the papers the first run stored as "N entries repeated a paper earlier in this
    input", so the admin read that the file held N duplicates and the run did nothing.
    They are counted as stored by the earlier ingest; a paper the file does repeat still
    counts as repeated."""
    from datetime import timedelta

    from papers.cli import _describe_raw

    entries = [Entry(f"{OTHER} Variant {i} of it.", f"Paper Number {i}") for i in range(6)]
    entries.append(entries[4])  # the file itself repeats a paper
    write = papers._write_batch
    calls = []

    def killed_in_the_second_batch(db, writes, report):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a kill midway: the first batch stays committed
        write(db, writes, report)

    monkeypatch.setattr(papers, "_write_batch", killed_in_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        papers.store_entries(
            db, "dump", "test", "sha", entries, NOW.isoformat(), IngestReport("dump"), batch=3
        )
    monkeypatch.setattr(papers, "_write_batch", write)
    later = (NOW + timedelta(minutes=5)).isoformat()
    report = papers.store_entries(
        db, "dump", "test", "sha", entries, later, IngestReport("dump", parsed=7), batch=3
    )
    assert (report.new_papers, report.resumed, report.repeated) == (3, 3, 1)
    assert db["papers"].count == db["sightings"].count == 6
    line = _describe_raw(report)
    assert "3 entries stored by an earlier, unfinished ingest of this input" in line, line
    assert "1 entry repeated a paper earlier in this input" in line, line
