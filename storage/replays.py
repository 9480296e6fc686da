"""Requests already handled: a replayed signed request or a retried event is acknowledged
without acting a second time."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import BUSY_TIMEOUT_MS, primary_code, transaction

# Slack refuses timestamps older than 5 minutes, and retries an event for about 5 minutes;
# an hour covers both with room to spare.
KEEP = timedelta(hours=1)
# The bot's request threads take turns here before SQLite's write lock: a thread that finds
# that lock taken sleeps in SQLite's busy handler in growing steps (up to 100 ms), so under a
# burst of fifty commands some acks waited hundreds of ms for a lock held ~1 ms at a time
# (bench: ack p99 286-394 ms without this, 179-272 ms with it, interleaved runs).
_TURNS = threading.Lock()
# How long a request waits for the write lock before its keys are kept in memory instead:
# an ingest batch holds the lock for seconds at 1M papers (bench: up to 6 s), and Slack
# wants the ack within 3. Once one request found the lock taken, the next do not wait.
LOCK_WAIT_MS = 100
# Keys seen while another process held the write lock, stored with the next request's.
_PENDING: dict[str, datetime] = {}
# Why a key cannot be written now while the table can still be read: another process's
# write lock, or a full disk (or a file system remounted read-only after an error). The ack
# must not fail for it: a search writes nothing, and every request got HTTP 500.
_UNWRITABLE = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY)


def first_time(db: Database, keys: list[str], now: datetime) -> bool:
    """Record the request's keys; False when any of them was seen within KEEP. Never waits
    long for the write lock: the keys are then held in memory until the next request
    stores them, and the check reads the table (WAL readers take no lock). So too while
    the disk is full."""
    with _TURNS:
        while _PENDING:  # oldest first: stop at the first key still kept (no scan of all)
            key, seen = next(iter(_PENDING.items()))
            if seen >= now - KEEP:
                break
            del _PENDING[key]
        if any(key in _PENDING for key in keys):
            return False
        try:
            with _waiting(db, 0 if _PENDING else LOCK_WAIT_MS), transaction(db):
                if _seen(db, keys, now):
                    return False
                _store(db, keys, now)
        except sqlite3.OperationalError as exc:
            if primary_code(exc) not in _UNWRITABLE:
                raise
            if _seen(db, keys, now):
                return False
            _PENDING.update(dict.fromkeys(keys, now))
            return True
        _PENDING.clear()  # stored with this request's
    return True


@contextmanager
def _waiting(db: Database, ms: int) -> Iterator[None]:
    """The connection's busy timeout set to `ms` for a block, then back to the usual."""
    db.conn.execute(f"PRAGMA busy_timeout = {ms}")
    try:
        yield
    finally:
        db.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def _seen(db: Database, keys: list[str], now: datetime) -> bool:
    marks = ",".join("?" * len(keys))
    query = f"SELECT 1 FROM seen_requests WHERE key IN ({marks}) AND seen_at >= ?"
    return db.execute(query, [*keys, (now - KEEP).isoformat()]).fetchone() is not None


def _store(db: Database, keys: list[str], now: datetime) -> None:
    db.execute("DELETE FROM seen_requests WHERE seen_at < ?", [(now - KEEP).isoformat()])
    # Plain SQL: this runs before every ack, and insert_all reads the table's shape first.
    # OR IGNORE: a key held in memory may have been stored by the other process meanwhile.
    rows = [(key, seen.isoformat()) for key, seen in _PENDING.items()]
    rows += [(key, now.isoformat()) for key in keys]
    db.conn.executemany("INSERT OR IGNORE INTO seen_requests (key, seen_at) VALUES (?, ?)", rows)


def forget(db: Database, keys: list[str]) -> None:
    """Drop keys recorded for an action that did not happen after all (it may be tried again)."""
    with _TURNS:
        for key in keys:
            _PENDING.pop(key, None)
    with transaction(db):
        marks = ",".join("?" * len(keys))
        db.execute(f"DELETE FROM seen_requests WHERE key IN ({marks})", keys)
