"""kill -9 in the middle of an ingest: the file stays sound, no paper is half-written, the
search index holds whole batches only, and the next ingest completes the work and indexes
what the killed one left past the index's watermark, each paper once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from bench.corpus import generate, write_dump
from storage import connect
from storage.index import indexed_ids, watermark
from tests.bot.conftest import wait_for
from tests.conftest import count

PAPERS = str(Path(sys.executable).with_name("papers"))
N = 3000
# The killed ingest writes 1,000 entries per transaction (the default is one transaction per
# 20,000), so the file takes three; the rerun uses the default and takes the rest in one.
BATCH = 1000
# A trigger in the test's database makes the ingest spin, inside its second batch's open
# transaction, on the 1,500th paper: the kill always lands mid-ingest, never after it.
STALL = (
    "CREATE TRIGGER stall AFTER INSERT ON papers WHEN NEW.id = 1500 BEGIN"
    " SELECT count(*) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
    " SELECT x FROM c); END"
)


def writing(path: Path) -> bool:
    """Whether another process holds the database's write lock right now."""
    probe = sqlite3.connect(path, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.rollback()
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


def test_kill_mid_ingest_leaves_a_sound_database_and_reingest_completes(tmp_path):
    dump = tmp_path / "big.txt"
    write_dump(generate(N, seed=3), dump)
    db_path = tmp_path / "p.db"
    db = connect(db_path)
    db.execute(STALL)
    process = subprocess.Popen(
        [PAPERS, "--db", str(db_path), "ingest", str(dump)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PAPERS_INGEST_BATCH": str(BATCH)},
    )
    try:
        # Killed while it holds the write lock after the first batch: inside the second one.
        wait_for(lambda: db["papers"].count >= BATCH and writing(db_path), timeout=60)
    finally:
        process.send_signal(signal.SIGKILL)  # never left spinning in the trigger
        process.wait(timeout=10)
    count("faults injected")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = db["papers"].count
    assert stored == BATCH  # the first batch, whole; nothing of the second
    # Whatever committed is whole: every paper seen once; the index never holds half a
    # batch (it commits whole batches, and may lag SQLite: its watermark says how far).
    assert db["sightings"].count == stored
    indexed = indexed_ids(db)
    assert indexed in ([], list(range(1, stored + 1)))
    assert watermark(db)[0] == len(indexed)
    assert next(db.query("SELECT complete FROM inputs"))["complete"] == 0
    db.execute("DROP TRIGGER stall")
    db.close()
    done = subprocess.run(
        [PAPERS, "--db", str(db_path), "ingest", str(dump)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert f"{N} parsed, {N - stored} new papers" in done.stdout
    db = connect(db_path)
    assert db["papers"].count == db["sightings"].count == N
    # The papers past the watermark were indexed by the second ingest: each once.
    assert indexed_ids(db) == list(range(1, N + 1))
    assert watermark(db)[0] == N
    again = subprocess.run(
        [PAPERS, "--db", str(db_path), "ingest", str(dump)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "already ingested, nothing changed" in again.stdout
