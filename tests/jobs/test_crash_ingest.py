"""kill -9 in the middle of an ingest: the file stays sound, no paper is half-written, and
the next ingest completes the work (ingest commits in batches of whole papers)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from bench.corpus import generate, write_dump
from storage import connect
from tests.bot.conftest import wait_for
from tests.conftest import count

PAPERS = str(Path(sys.executable).with_name("papers"))
N = 3000
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
    )
    # Killed while it holds the write lock after the first batch: inside the second one.
    wait_for(lambda: db["papers"].count >= 1000 and writing(db_path), timeout=60)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    count("faults injected")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = db["papers"].count
    assert stored == 1000  # the first batch, whole; nothing of the second
    # Whatever committed is whole: every paper indexed once and seen once.
    assert next(db.query("SELECT COUNT(*) AS n FROM papers_fts"))["n"] == stored
    assert db["sightings"].count == stored
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
    assert next(db.query("SELECT COUNT(*) AS n FROM papers_fts"))["n"] == N
    again = subprocess.run(
        [PAPERS, "--db", str(db_path), "ingest", str(dump)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "already ingested, nothing changed" in again.stdout
