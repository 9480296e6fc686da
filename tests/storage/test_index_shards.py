"""A large store's index in two shards searched at once: the same matches, totals and pages
as one index, a reindex that splits or joins the shards, and readers that never see one
shard's commit without the other's."""

from __future__ import annotations

import fcntl
import json
import logging
import random
import shutil
import string
import subprocess
import sys
import textwrap

import pytest

from storage import connect
from storage import index as search_index
from storage.index import Writer, indexed_ids, watermark
from storage.models import Entry
from storage.search import HIGHLIGHT, search
from tests.conftest import ROOT
from tests.storage.test_index import FAMOUS, RIVALS, planted, store

QUERIES = ["lora", "low rank adaptation", "attention", '"diffusion probabilistic"', "mod*"]


def shards_of(db) -> int:
    folder = search_index.index_dir(db)
    return len(json.loads((folder / search_index.WATERMARK).read_text()).get("dirs", [""]))


def folders(db) -> list[str]:
    """The index folder's sub-folders (a generation's shards)."""
    return sorted(p.name for p in search_index.index_dir(db).iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """The planted corpus indexed in one shard, then reindexed in two (read only)."""
    db = connect(tmp_path_factory.mktemp("split") / "papers.db")
    planted(db, n=600)
    one = {q: (search(db, q, limit=2000).total, _ids(db, q)) for q in QUERIES}
    one["snippets"] = {p["id"]: p["snippet"] for p in search(db, "sampler", limit=2000).papers}
    saved = search_index.SHARD_PAPERS
    search_index.SHARD_PAPERS = 100  # this store of 600 papers counts as large
    try:
        search_index.reindex(db)
    finally:
        search_index.SHARD_PAPERS = saved
    yield db, one
    db.close()


def _ids(db, query: str) -> set[int]:
    return set(search_index.first_by_id(search_index.searcher(db), _query(query), 10_000))


def _query(text: str):
    from storage.search import parse_query

    parsed = parse_query(text)
    return search_index.build_query(parsed.groups, parsed.excludes)


def test_reindex_splits_a_large_store_in_two_shards(split):
    db, _ = split
    assert shards_of(db) == 2 and folders(db) == ["g1s0", "g1s1"]
    # The one shard's files in the folder itself went with the switch.
    assert not (search_index.index_dir(db) / "meta.json").exists()
    assert indexed_ids(db) == [r["id"] for r in db.query("SELECT id FROM papers ORDER BY id")]


@pytest.mark.parametrize("query", QUERIES, ids=["lora", "words", "common", "phrase", "prefix"])
def test_two_shards_find_the_same_papers_with_the_same_totals(split, query):
    db, one = split
    total, ids = one[query]
    assert search(db, query, limit=5).total == total
    assert _ids(db, query) == ids


@pytest.mark.parametrize(
    ("query", "title"),
    [("lora", FAMOUS[0][0]), ("attention is all you need", FAMOUS[1][0])],
    ids=["lora", "attention"],
)
def test_the_famous_paper_stays_first_across_shards(split, query, title):
    db, _ = split
    papers = search(db, query).papers
    assert papers[0]["title"] == title and papers[1]["title"] in {t for t, _ in RIVALS}


def test_paging_across_shards_shows_every_match_once_in_rank_order(split):
    db, _ = split
    whole = search(db, "attention", limit=40)
    pages = [search(db, "attention", limit=7, offset=o).papers for o in range(0, 40, 7)]
    shown = [p["id"] for page in pages for p in page][:40]
    assert shown == [p["id"] for p in whole.papers]
    assert len(set(shown)) == len(shown) == 40


def test_snippets_mark_words_of_papers_in_either_shard(split):
    db, one = split
    papers = search(db, "sampler", limit=20).papers
    assert {p["id"] % 2 for p in papers} == {0, 1}  # papers from both shards
    assert all(p["snippet"] == one["snippets"][p["id"]] for p in papers)
    assert all(f"{HIGHLIGHT[0]}sampler{HIGHLIGHT[1]}" in p["snippet"] for p in papers[:5])


def test_reindex_joins_the_shards_again_when_the_store_is_small(tmp_path, monkeypatch):
    db = connect(tmp_path / "papers.db")
    monkeypatch.setattr(search_index, "SHARD_PAPERS", 2)
    store(db, [Entry(f"Kelp forest number {i} under warming.", f"Kelp {i}") for i in range(5)], "a")
    search_index.reindex(db)
    assert shards_of(db) == 2 and search(db, "kelp").total == 5
    monkeypatch.setattr(search_index, "SHARD_PAPERS", 100)
    search_index.reindex(db)
    assert shards_of(db) == 1 and folders(db) == ["g2s0"]
    # This process's reader was on two shards: it follows the rebuild to one.
    assert search(db, "kelp").total == 5
    assert indexed_ids(db) == [1, 2, 3, 4, 5]


def test_a_reader_never_sees_one_shards_commit_without_the_others(tmp_path, monkeypatch):
    db = connect(tmp_path / "papers.db")
    monkeypatch.setattr(search_index, "SHARD_PAPERS", 0)  # even a new store: two shards
    monkeypatch.setattr(search_index, "COMMIT_SECONDS", 3600)  # commits only when asked
    store(db, [Entry("Otters use tools to open shells.", "Otter Tools")], "a")
    assert shards_of(db) == 2 and search(db, "otter").total == 1
    writer = Writer(db)
    try:
        # The index is held by this writer: the papers are stored in SQLite only.
        pups = [Entry(f"Otter pups number {i} float.", f"Otter Pup {i}") for i in range(4)]
        store(db, pups, "b")
        assert indexed_ids(db) == [1]
        writer.sync()  # the four new papers, not committed yet
        path = search_index.index_dir(db)
        with open(path.with_name(path.name + ".commit"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the writer, midway through its commit:
            writer.writers[0].commit()  # one shard committed, the other not yet
            assert search(db, "otter").total == 1  # the last whole view
        writer.commit()
        assert search(db, "otter").total == 5
        assert watermark(db)[0] == 5
    finally:
        writer.close()


def test_papers_stored_while_two_shards_were_held_are_indexed_by_the_next_writer(
    tmp_path, monkeypatch, caplog
):
    db = connect(tmp_path / "papers.db")
    monkeypatch.setattr(search_index, "SHARD_PAPERS", 0)
    store(db, [Entry("Kelp forests under warming oceans.", "Kelp One")], "first")
    held = Writer(db)
    with caplog.at_level(logging.WARNING):
        store(db, [Entry("Kelp growth rates measured by drones.", "Kelp Two")], "second")
        store(db, [Entry("Kelp canopies seen from orbit.", "Kelp Three")], "third")
    assert indexed_ids(db) == [1]
    held.close()
    assert search_index.ensure(db)
    assert indexed_ids(db) == [1, 2, 3] and search(db, "kelp").total == 3


def test_a_store_grown_past_the_split_size_is_told_to_reindex(tmp_path, monkeypatch):
    db = connect(tmp_path / "papers.db")
    monkeypatch.setattr(search_index, "SHARD_PAPERS", 3)
    store(db, [Entry("Kelp forests under warming oceans.", "Kelp One")], "a")
    assert shards_of(db) == 1 and search_index.unsplit(db) is None  # small: one shard
    store(db, [Entry(f"Kelp forest number {i} under warming.", f"Kelp {i}") for i in range(4)], "b")
    assert search_index.unsplit(db) == 5  # grown: the worker says to run `papers reindex`
    search_index.reindex(db)
    assert shards_of(db) == 2 and search_index.unsplit(db) is None


def _tied(n: int) -> list[Entry]:
    """n papers whose scores for `kelp` tie exactly: same shape of text, same day."""
    rng = random.Random(5)
    word = lambda: "".join(rng.choice(string.ascii_lowercase) for _ in range(9))  # noqa: E731
    return [
        Entry(
            "Kelp " + " ".join(word() for _ in range(12)) + ".",
            "Kelp " + " ".join(word() for _ in range(4)),
            published="2025-01-01",
        )
        for _ in range(n)
    ]


@pytest.mark.parametrize("split_from", [10**9, 0], ids=["one-shard", "two-shards"])
def test_paging_through_tied_scores_shows_each_paper_once(tmp_path, monkeypatch, split_from):
    monkeypatch.setattr(search_index, "SHARD_PAPERS", split_from)
    db = connect(tmp_path / "papers.db")
    store(db, _tied(40), "a")
    whole = [p["id"] for p in search(db, "kelp", limit=40).papers]
    pages = [search(db, "kelp", limit=5, offset=o).papers for o in range(0, 40, 5)]
    assert [p["id"] for page in pages for p in page] == whole
    assert sorted(whole) == list(range(1, 41))


# A reindex killed after its shards committed, before the watermark moved (SIGKILL, OOM, a
# power cut): the watermark still names the old folders, which are whole.
KILLED_REINDEX = textwrap.dedent(
    """
    import os, sys
    from storage import connect
    from storage import index as search_index
    search_index.SHARD_PAPERS = int(sys.argv[2])
    search_index._write_watermark = lambda *args: os._exit(9)
    search_index.reindex(connect(sys.argv[1]))
    """
)
COUNT = (
    "import sys; from storage import connect; from storage import index;"
    " from storage.search import search; db = connect(sys.argv[1]);"
    " print(search(db, 'kelp').total, len(index.indexed_ids(db)))"
)


def _fresh_count(db_path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", COUNT, str(db_path)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("before", "after"), [(10**9, 0), (0, 10**9)], ids=["split-1-to-2", "join-2-to-1"]
)
def test_a_reindex_killed_before_its_switch_leaves_the_old_index_whole(
    tmp_path, monkeypatch, before, after
):
    db_path = tmp_path / "papers.db"
    monkeypatch.setattr(search_index, "SHARD_PAPERS", before)
    db = connect(db_path)
    store(
        db, [Entry(f"Kelp forest number {i} under warming.", f"Kelp {i}") for i in range(10)], "a"
    )
    layout = folders(db)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_REINDEX, str(db_path), str(after)], cwd=ROOT
    )
    assert killed.returncode == 9
    assert _fresh_count(db_path) == "10 10"  # a new process reads the old, whole index
    assert search(db, "kelp").total == 10  # and so does this one
    assert search_index.ensure(db)  # the worker's start clears the half-built generation
    assert folders(db) == layout and _fresh_count(db_path) == "10 10"


KILLED_AFTER_SWITCH = textwrap.dedent(
    """
    import os, sys
    from storage import connect
    from storage import index as search_index
    search_index.SHARD_PAPERS = 0
    search_index.Writer._remove = lambda self, old: os._exit(9)
    search_index.reindex(connect(sys.argv[1]))
    """
)


def test_a_reshard_killed_after_its_switch_leaves_no_old_files_behind(tmp_path, monkeypatch):
    db_path = tmp_path / "papers.db"
    db = connect(db_path)
    store(
        db, [Entry(f"Kelp forest number {i} under warming.", f"Kelp {i}") for i in range(10)], "a"
    )
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_SWITCH, str(db_path)], cwd=ROOT)
    assert killed.returncode == 9 and shards_of(db) == 2
    folder = search_index.index_dir(db)
    assert (folder / "meta.json").exists()  # the one shard's files, left by the kill
    monkeypatch.setattr(search_index, "SHARD_PAPERS", 0)
    assert search_index.ensure(db)  # the worker's next start removes them
    left = [p.name for p in folder.iterdir() if p.is_file() and p.name != search_index.WATERMARK]
    assert left == [] and _fresh_count(db_path) == "10 10"


def test_a_running_bot_rebuilds_an_index_deleted_under_it(tmp_path, monkeypatch, caplog):
    db = connect(tmp_path / "papers.db")
    monkeypatch.setattr(search_index, "SHARD_PAPERS", 0)
    store(db, [Entry(f"Kelp forest number {i} under warming.", f"Kelp {i}") for i in range(6)], "a")
    assert search(db, "kelp").total == 6  # this process holds a view
    shutil.rmtree(search_index.index_dir(db))
    with caplog.at_level(logging.WARNING):
        assert search(db, "kelp").total == 6
    assert "is missing: building it from SQLite" in caplog.text
    assert shards_of(db) == 2


# An ingest killed after the index committed its batch, before the watermark moved: the
# batch's papers are in the index and past the watermark, so the next writer indexes them
# again.
KILLED_INGEST = textwrap.dedent(
    """
    import os, sys
    from storage import connect
    from storage import index as search_index
    from storage.models import Entry, IngestReport
    from storage.papers import store_entries
    search_index._write_watermark = lambda *args: os._exit(9)
    entries = [Entry(f"Kelp forest number {i} after the storm.", f"Kelp {i}")
               for i in range(10, 20)]
    store_entries(connect(sys.argv[1]), "b", "dump", "b", entries, "2026-03-16T09:00:00Z",
                  IngestReport("b"))
    """
)


@pytest.mark.parametrize("split_from", [10**9, 0], ids=["one-shard", "two-shards"])
def test_papers_indexed_before_a_crash_are_not_indexed_twice(tmp_path, monkeypatch, split_from):
    monkeypatch.setattr(search_index, "SHARD_PAPERS", split_from)
    db_path = tmp_path / "papers.db"
    db = connect(db_path)
    store(
        db, [Entry(f"Kelp forest number {i} under warming.", f"Kelp {i}") for i in range(10)], "a"
    )
    search_index.reindex(db)
    killed = subprocess.run([sys.executable, "-c", KILLED_INGEST, str(db_path)], cwd=ROOT)
    assert killed.returncode == 9
    assert watermark(db)[0] == 10  # the batch of ten is committed in SQLite and the index
    assert search_index.ensure(db)  # the worker's start indexes the ten again
    assert indexed_ids(db) == list(range(1, 21))
    assert search(db, "kelp", limit=50).total == 20
    assert _fresh_count(db_path) == "20 20"
