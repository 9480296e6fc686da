"""The `papers` CLI as a user runs it: the installed console script on a real database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.ingest import ingest_target
from storage import connect
from tests.conftest import NOW, ROOT, SEEDS, add_subscription

PAPERS = str(Path(sys.executable).with_name("papers"))


def run(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PAPERS, "--db", str(db), *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_ingest_reports_per_file_and_second_run_adds_nothing(tmp_path):
    db = tmp_path / "p.db"
    first = run(db, "ingest", str(SEEDS))
    assert first.returncode == 0, first.stderr
    assert (
        "000_db82ecd9bbfd133f.txt: 39 parsed, 39 new papers, 0 merged sightings, 0 skipped"
        in first.stdout
    )
    assert (
        "001_bd886f24c340b808.txt: 67 parsed, 61 new papers, 6 merged sightings, 0 skipped"
        in first.stdout
    )
    assert "total: 117 parsed, 111 new papers, 6 merged sightings, 0 skipped" in first.stdout
    second = run(db, "ingest", str(SEEDS))
    assert second.stdout.count("already ingested, nothing changed") == 3
    stats = json.loads(run(db, "stats", "--json").stdout)
    assert (stats["papers"], stats["sightings"], stats["untitled"]) == (111, 117, 11)


def test_search_and_trending_json_fields(seeded_path):
    result = run(seeded_path, "search", "lora", "--json")
    data = json.loads(result.stdout)
    assert data["total"] == 2
    fields = {
        "id",
        "title",
        "abstract",
        "url",
        "arxiv_id",
        "authors_count",
        "published",
        "upvotes",
        "sources",
        "score",
        "snippet",
    }
    assert all(fields <= set(p) for p in data["papers"])
    trend = json.loads(run(seeded_path, "trending", "--window", "week", "--json").stdout)
    assert trend and all({"score", "reason"} <= set(p) and p["reason"] for p in trend)


def test_search_suggests_and_handles_unbalanced_quote(seeded_path):
    assert "Did you mean: lora?" in run(seeded_path, "search", "loar").stdout
    unbalanced = run(seeded_path, "search", '"unbalanced')
    assert unbalanced.returncode == 0 and "Traceback" not in unbalanced.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["search", ""], "Type a few words", id="empty-query"),
        pytest.param(["search", "x" * 2000], "keep it under 256", id="long-query"),
        pytest.param(["trending", "--window", "year"], "Invalid value", id="bad-window"),
    ],
)
def test_user_errors_exit_2_with_one_line(seeded_path, args, message):
    result = run(seeded_path, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_missing_path_is_reported_and_exit_1(tmp_path):
    result = run(
        tmp_path / "p.db", "ingest", str(tmp_path / "nope"), str(SEEDS / "002_af989c2119285913.txt")
    )
    assert result.returncode == 1
    assert "nope: FAILED: no such file, folder or URL" in result.stdout
    assert "11 new papers" in result.stdout


def test_digest_preview_prints_text_and_block_kit(seeded_path):
    from datetime import UTC, datetime

    from storage import connect

    db = connect(seeded_path)
    add_subscription(db, "T1", "U1", "C1", frequency="weekly", now=datetime.now(UTC))
    db.close()
    by_id = run(seeded_path, "digest", "--preview", "--subscription", "1")
    assert by_id.returncode == 0, by_id.stderr
    lines = by_id.stdout.splitlines()
    assert lines[0] == "# subscription #1 → C1"
    assert lines[1].startswith("Weekly papers · ") and lines[1].endswith(": 5 papers")
    assert len([line for line in lines if line.startswith("  - ")]) == 5
    blocks = json.loads(by_id.stdout[by_id.stdout.index("[") :])
    assert blocks[0]["type"] == "header" and blocks[-1]["type"] == "actions"
    by_channel = run(seeded_path, "digest", "--preview", "--team", "T1", "--channel", "C1")
    assert by_channel.stdout == by_id.stdout
    assert run(seeded_path, "digest", "--preview", "--subscription", "9").returncode == 2
    assert connect(seeded_path)["deliveries"].count == 0  # a preview sends nothing


def _corrupt(path: Path) -> None:
    shutil.copyfile(SEEDS / sorted(p.name for p in SEEDS.iterdir())[0], path)


@pytest.mark.parametrize(
    ("args", "make", "message"),
    [
        pytest.param(["stats"], _corrupt, "is corrupt (not an SQLite database)", id="corrupt"),
        pytest.param(["ingest", str(SEEDS)], _corrupt, "is corrupt", id="corrupt-ingest"),
        pytest.param(["search", "lora"], None, "There is no database at", id="missing"),
        pytest.param(
            ["stats"],
            lambda p: p.parent.joinpath("dir.db").mkdir() or None,
            "There is no database at",
            id="missing-other-name",
        ),
    ],
)
def test_a_bad_database_is_one_clear_line(tmp_path, args, make, message):
    db = tmp_path / "p.db"
    if make:
        make(db)
    result = run(db, *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_read_only_database_is_one_clear_line(seeded_path):
    """Root writes through file modes, so as root the file is made immutable instead."""
    root = os.geteuid() == 0
    if root:
        subprocess.run(["chattr", "+i", str(seeded_path)], check=True)
    else:
        seeded_path.chmod(0o444)
    try:
        result = run(seeded_path, "ingest", str(SEEDS))
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(seeded_path)], check=True)
    assert result.returncode == 2, result.stderr
    assert "is read-only" in result.stderr and "Traceback" not in result.stderr


def test_stats_never_prints_a_feed_password_or_api_key(seeded_path):
    db = connect(seeded_path)
    url = "http://reader:hunter2-pass@127.0.0.1:9/feed.xml?api_key=sk-live-123&q=lora"
    ingest_target(db, url, NOW)
    db.close()
    for args in (["stats"], ["stats", "--json"]):
        out = run(seeded_path, *args).stdout
        assert "127.0.0.1:9/feed.xml" in out
        assert "hunter2-pass" not in out and "sk-live-123" not in out
