"""Requests already handled: a replayed signed request or a retried event is acknowledged
without acting a second time."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import transaction

# Slack refuses timestamps older than 5 minutes, and retries an event for about 5 minutes;
# an hour covers both with room to spare.
KEEP = timedelta(hours=1)
# The bot's request threads take turns here before SQLite's write lock: a thread that finds
# that lock taken sleeps in SQLite's busy handler in growing steps (up to 100 ms), so under a
# burst of fifty commands some acks waited hundreds of ms for a lock held ~1 ms at a time
# (bench: ack p99 286-394 ms without this, 179-272 ms with it, interleaved runs).
_TURNS = threading.Lock()


def first_time(db: Database, keys: list[str], now: datetime) -> bool:
    """Record the request's keys; False when any of them was seen within KEEP."""
    with _TURNS, transaction(db):
        db.execute("DELETE FROM seen_requests WHERE seen_at < ?", [(now - KEEP).isoformat()])
        marks = ",".join("?" * len(keys))
        if db.execute(f"SELECT 1 FROM seen_requests WHERE key IN ({marks})", keys).fetchone():
            return False
        # Plain SQL: this runs before every ack, and insert_all reads the table's shape first.
        db.conn.executemany(
            "INSERT INTO seen_requests (key, seen_at) VALUES (?, ?)",
            [(key, now.isoformat()) for key in keys],
        )
    return True


def forget(db: Database, keys: list[str]) -> None:
    """Drop keys recorded for an action that did not happen after all (it may be tried again)."""
    with transaction(db):
        marks = ",".join("?" * len(keys))
        db.execute(f"DELETE FROM seen_requests WHERE key IN ({marks})", keys)
