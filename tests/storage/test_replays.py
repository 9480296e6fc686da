"""Replayed requests: acted on once, however many arrive together."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from storage import connect, replays

NOW = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("keys_of", "firsts"),
    [
        pytest.param(lambda i: ["sig:same"], 1, id="one-request-delivered-forty-times"),
        pytest.param(lambda i: [f"sig:{i}"], 40, id="forty-different-requests"),
    ],
)
def test_requests_arriving_together_on_many_threads(tmp_path, keys_of, firsts):
    """The bot's request threads, each with its own connection, record at once: a request
    Slack delivered many times is first exactly once, and no distinct one is refused."""
    path = tmp_path / "papers.db"
    connect(path).close()

    def one(i: int) -> bool:
        db = connect(path)
        try:
            return replays.first_time(db, keys_of(i), NOW)
        finally:
            db.close()

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(one, range(40)))
    assert sum(results) == firsts


def test_a_request_is_new_again_after_an_hour(db):
    """Keys are kept for KEEP only: the table does not grow for ever."""
    assert replays.first_time(db, ["sig:a"], NOW)
    assert not replays.first_time(db, ["sig:a"], NOW + timedelta(minutes=5))
    assert replays.first_time(db, ["sig:a"], NOW + replays.KEEP + timedelta(minutes=6))


def test_a_request_while_another_process_writes_waits_not_and_is_stored_after(tmp_path):
    """An ingest batch holding the write lock for seconds does not hold up the bot's ack:
    the request is first at once, its replay is refused meanwhile, and its key is stored
    (for the worker, or the bot after a restart) with the next request's once the lock is
    free."""
    path = tmp_path / "papers.db"
    db = connect(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as an ingest batch's writes take it
    assert replays.first_time(db, ["sig:a"], NOW)
    assert not replays.first_time(db, ["sig:a"], NOW + timedelta(seconds=1))
    assert replays.first_time(db, ["sig:b"], NOW + timedelta(seconds=2))
    assert db["seen_requests"].count == 0  # nothing could be written yet
    holder.execute("ROLLBACK")
    assert replays.first_time(db, ["sig:c"], NOW + timedelta(seconds=3))
    assert {row["key"] for row in db["seen_requests"].rows} == {"sig:a", "sig:b", "sig:c"}
    assert not replays.first_time(db, ["sig:b"], NOW + timedelta(seconds=4))


def _fill_disk(db) -> None:
    """Make the file as full as a full disk makes it: SQLite may grow it no further, and
    seen_requests' pages have no room left (SQLITE_FULL on the next insert)."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        for i in range(100_000):
            with db.conn:
                db.execute(
                    "INSERT INTO seen_requests (key, seen_at) VALUES (?, ?)",
                    [f"filler:{i}", NOW.isoformat()],
                )


def test_a_request_while_the_disk_is_full_is_first_and_its_replay_refused(db, monkeypatch):
    """A full disk failed the replay check's write, and every request to the bot got HTTP
    500 (Slack: "failed with the error http_service_error"), searches too, which write
    nothing. The key is held in memory, as while another process holds the lock."""
    monkeypatch.setattr(replays, "_PENDING", {})  # the keys held here stay in this test
    _fill_disk(db)
    assert replays.first_time(db, ["sig:a"], NOW)
    assert not replays.first_time(db, ["sig:a"], NOW + timedelta(seconds=1))
    assert replays.first_time(db, ["sig:b"], NOW + timedelta(seconds=2))
