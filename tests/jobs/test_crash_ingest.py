"""kill -9 in the middle of an ingest: the file stays sound, no paper is half-written, and
the next ingest completes the work (ingest commits in batches of whole papers)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from bench.corpus import generate, write_dump
from storage import connect
from tests.bot.conftest import wait_for
from tests.conftest import count

PAPERS = str(Path(sys.executable).with_name("papers"))
N = 6000


def test_kill_mid_ingest_leaves_a_sound_database_and_reingest_completes(tmp_path):
    dump = tmp_path / "big.txt"
    write_dump(generate(N, seed=3), dump)
    db_path = tmp_path / "p.db"
    connect(db_path).close()
    wal = Path(str(db_path) + "-wal")
    process = subprocess.Popen(
        [PAPERS, "--db", str(db_path), "ingest", str(dump)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Kill once the transaction has spilled pages into the WAL: mid-write, not before.
    wait_for(
        lambda: wal.exists() and wal.stat().st_size > 1_000_000 or process.poll() is not None,
        timeout=60,
    )
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    count("faults injected")
    assert process.returncode == -signal.SIGKILL, "the ingest finished before it was killed"
    db = connect(db_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = db["papers"].count
    assert stored < N
    # Whatever committed is whole: every paper indexed once and seen once.
    assert next(db.query("SELECT COUNT(*) AS n FROM papers_fts"))["n"] == stored
    assert db["sightings"].count == stored
    assert next(db.query("SELECT complete FROM inputs"))["complete"] == 0
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
