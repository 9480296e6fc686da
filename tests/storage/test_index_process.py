"""A large input's index writer in a process of its own: what it indexes is what the
ingest's own process would have indexed, and a writer process that cannot write or dies
loses no paper (the next writer indexes what it missed, from the watermark)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from bench.corpus import generate
from storage import connect, index_process
from storage import index as search_index
from storage.index import Writer, indexed_ids, watermark
from storage.models import Entry, IngestReport
from storage.papers import store_entries
from storage.search import search
from tests.bot.conftest import wait_for
from tests.conftest import NOW

QUERIES = ["quokka", "model", '"language models"', "train*", "learning -vision"]


def entries() -> list[Entry]:
    """Papers in several batches; one is listed untitled in the first batch and named in a
    later one (a change to a stored paper, with no new sighting of it), one twice."""
    untitled = "We measure how quickly gradient noise shrinks during warmup in transformers."
    papers = [Entry(p.abstract, p.title, upvotes=p.upvotes) for p in generate(300, seed=9)]
    return [
        Entry(untitled),
        *papers[:150],
        Entry(papers[3].abstract, papers[3].title, upvotes=400),
        *papers[150:],
        Entry(untitled, "Quokka: Gradient Noise in Warmup"),
    ]


def store(db, name: str = "big") -> IngestReport:
    report = IngestReport(name)
    return store_entries(db, name, "dump", name, entries(), NOW.isoformat(), report, batch=40)


def results(db) -> dict[str, tuple[int, list[str]]]:
    """Each query's total and every paper it finds. Not their order: a paper indexed again
    leaves its old document counted in the word statistics until segments merge, which
    differs with when each writer committed (the order of near ties differed under load)."""
    found = {q: search(db, q, limit=500) for q in QUERIES}
    return {q: (r.total, sorted(p["title"] for p in r.papers)) for q, r in found.items()}


@pytest.fixture
def in_own_process(monkeypatch):
    """Every input, however small, indexed by a writer process of its own."""
    monkeypatch.setattr(index_process, "MIN_ENTRIES", 1)


def test_an_input_indexed_by_its_own_process_searches_as_one_indexed_in_process(
    tmp_path, monkeypatch
):
    here = connect(tmp_path / "here.db")
    store(here)
    monkeypatch.setattr(index_process, "MIN_ENTRIES", 1)
    # Not a document of this input is indexed in the ingest's own process.
    monkeypatch.setattr(search_index, "open_for_ingest", lambda db: pytest.fail("in-process"))
    apart = connect(tmp_path / "apart.db")
    report = store(apart)
    assert report.new_papers == 301 and report.merged == 0  # the two copies are repeats
    assert indexed_ids(apart) == indexed_ids(here) == list(range(1, 302))
    assert watermark(apart) == watermark(here)
    assert results(apart) == results(here)
    # The paper named in a later batch (no new sighting of it) is found by its name.
    assert search(apart, "quokka").papers[0]["title"] == "Quokka: Gradient Noise in Warmup"


def test_papers_an_index_process_could_not_write_are_indexed_by_the_next_writer(
    tmp_path, in_own_process, caplog
):
    db = connect(tmp_path / "papers.db")
    first = [Entry("Kelp forests under warming oceans.", "Kelp One")]
    store_entries(db, "first", "dump", "first", first, NOW.isoformat(), IngestReport("first"))
    held = Writer(db)  # the worker's ingest holds the index
    try:
        with caplog.at_level(logging.WARNING):
            report = store(db)
        # The warning the writer process gave, logged by the ingest under its own logger.
        told = [r for r in caplog.records if "being written by another process" in r.message]
        assert [r.name for r in told] == ["storage.index"]
        # In SQLite, not yet in the index: exactly a crash between the two commits.
        assert report.new_papers == 301 and indexed_ids(db) == [1]
    finally:
        held.close()
    assert search_index.ensure(db)  # what the worker does at start and each ingest
    assert indexed_ids(db) == list(range(1, 303))
    assert search(db, "quokka").total == 1


def test_an_index_process_that_dies_loses_no_paper(tmp_path, monkeypatch, caplog):
    started = index_process.open_for_ingest

    def killed_at_start(db, entries):
        process = started(db, index_process.MIN_ENTRIES)
        process.child.kill()  # as the OOM killer or an admin's kill -9 would
        return process

    monkeypatch.setattr(index_process, "open_for_ingest", killed_at_start)
    db = connect(tmp_path / "papers.db")
    with caplog.at_level(logging.WARNING):
        report = store(db)
    assert report.new_papers == 301  # the ingest itself went on
    assert "writer process for" in caplog.text and "stopped (exit code -9)" in caplog.text
    assert "Traceback" not in caplog.text
    assert search_index.ensure(db)
    assert indexed_ids(db) == list(range(1, 302))


def test_a_stored_paper_a_batch_changed_is_indexed_again(tmp_path):
    # A later batch of one input can rename a paper an earlier batch stored, with no new
    # sighting of it: only the ids the ingest sends tell the writer process.
    db = connect(tmp_path / "papers.db")
    first = [Entry("We measure how quickly gradient noise shrinks during warmup.")]
    store_entries(db, "first", "dump", "first", first, NOW.isoformat(), IngestReport("first"))
    assert indexed_ids(db) == [1] and search(db, "quokka").total == 0
    db.execute("UPDATE papers SET title = 'Quokka: Warmup Noise', title_derived = 0 WHERE id = 1")
    db.conn.commit()
    process = index_process.IndexProcess(tmp_path / "papers.db")
    process.sync([1])
    process.close()
    assert search(db, "quokka").total == 1


def test_an_ingest_with_no_process_to_start_indexes_in_its_own(
    tmp_path, in_own_process, monkeypatch, caplog
):
    monkeypatch.setattr(index_process.sys, "executable", str(tmp_path / "no-such-python"))
    db = connect(tmp_path / "papers.db")
    with caplog.at_level(logging.WARNING):
        report = store(db)
    assert report.error is None and report.new_papers == 301
    assert "cannot start the search index's writer process" in caplog.text
    assert indexed_ids(db) == list(range(1, 302))
    assert search(db, "quokka").total == 1


def test_a_writer_process_whose_last_commit_fails_says_so_in_the_log_only(
    tmp_path, monkeypatch, caplog, capfd
):
    # Its index folder gone while it writes, as on a full disk: its commit fails. The
    # error was a raw traceback on the terminal the ingest shares, and its log was lost.
    db = connect(tmp_path / "papers.db")
    first = [Entry("Kelp forests under warming oceans.", "Kelp One")]
    store_entries(db, "first", "dump", "first", first, NOW.isoformat(), IngestReport("first"))
    process = index_process.IndexProcess(tmp_path / "papers.db")
    # Its writer open: tantivy's lock held (the index lock alone came before the index was
    # read, which then found the folder gone and rebuilt it).
    locks = list(search_index.index_dir(db).rglob(".tantivy-writer.lock"))
    assert locks  # left by the first ingest's writer
    wait_for(lambda: all(_locked_by(process.child.pid, lock) for lock in locks), timeout=30)
    # Moved away in one step (the child may be deleting files in it meanwhile).
    search_index.index_dir(db).rename(tmp_path / "gone")
    monkeypatch.setattr(search_index, "open_for_ingest", lambda db: None)  # the child's
    more = [Entry("Quokkas sleep through warmup.", "Quokka Two")]
    store_entries(db, "more", "dump", "more", more, NOW.isoformat(), IngestReport("more"))
    process.sync([])
    with caplog.at_level(logging.WARNING):
        process.close()
    # Told once or twice: a commit due during the batch fails first, then the last one;
    # under its module's name (run with -m, the child's was __main__).
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and all("the search index's writer process" in r.message for r in errors)
    assert {r.name for r in errors} == {"storage.index_process"}
    assert "Traceback" not in capfd.readouterr().err
    assert search_index.ensure(db)  # the next start rebuilds what was lost
    assert search(db, "quokka").total == 1 and search(db, "kelp").total == 1


def _locked_by(pid: int, path: Path) -> bool:
    """Whether process `pid` holds a lock on the file (Linux's /proc/locks): a probe that
    took the lock itself could make the child's writer find the index busy."""
    inode = path.stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[4] == str(pid) and fields[5].endswith(f":{inode}"):
            return True
    return False


def test_a_writer_process_that_cannot_start_says_why_in_one_log_line(
    tmp_path, monkeypatch, caplog, capfd
):
    # A child that fails on its first import: its traceback went to the shared terminal.
    broken = tmp_path / "broken"
    (broken / "sqlite_utils").mkdir(parents=True)
    (broken / "sqlite_utils" / "__init__.py").write_text("raise ImportError('disk gone')\n")
    monkeypatch.setenv("PYTHONPATH", str(broken))  # read by the child only
    db = connect(tmp_path / "papers.db")
    process = index_process.IndexProcess(tmp_path / "papers.db")
    with caplog.at_level(logging.WARNING):
        assert process.close() == {}
    assert "stopped (exit code 1: ImportError: disk gone)" in caplog.text
    assert "Traceback" not in capfd.readouterr().err
    assert indexed_ids(db) == []


def test_a_writer_process_runs_the_ingests_own_code(tmp_path, monkeypatch, caplog):
    # Another copy of the package first on the path (an older install, the working
    # directory of a test run): the child imported that copy's writer, not the ingest's.
    other = tmp_path / "other" / "storage"
    other.mkdir(parents=True)
    (other / "__init__.py").write_text("")
    (other / "index_process.py").write_text(
        "import json\nprint(json.dumps({'log': [[30, 'x', 'another copy ran']], 'peak_kb': 1}))\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(other.parent))
    monkeypatch.chdir(other.parent)
    db = connect(tmp_path / "papers.db")
    entries = [Entry("Quokkas sleep through warmup.", "Quokka Two")]
    store_entries(db, "more", "dump", "more", entries, NOW.isoformat(), IngestReport("more"))
    process = index_process.IndexProcess(tmp_path / "papers.db")
    process.sync([])
    with caplog.at_level(logging.INFO):
        answer = process.close()
    assert "another copy ran" not in caplog.text and answer["peak_kb"] > 1
    assert search(db, "quokka").total == 1


def test_a_writer_process_runs_the_code_of_a_checkout_whose_path_has_a_colon(tmp_path):
    # A root put on PYTHONPATH split at the colon, and the child ran the installed copy.
    # This copy's writer process reports a peak of 424242 KB: only its own child does.
    import json
    import subprocess
    import sys

    copy = tmp_path / "check:out dir"
    shutil.copytree(Path(index_process.__file__).parent, copy / "storage")
    with (copy / "storage" / "index_process.py").open("a") as module:
        module.write("\n_peak_kb = lambda: 424242\n")
    script = (
        "import json, sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from storage import connect, index_process\n"
        "connect(sys.argv[2])\n"
        "print(json.dumps(index_process.IndexProcess(sys.argv[2]).close()))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script, str(copy), str(tmp_path / "p.db")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["peak_kb"] == 424242
