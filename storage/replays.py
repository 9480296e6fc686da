"""Requests already handled: a replayed signed request or a retried event is acknowledged
without acting a second time."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import transaction

# Slack refuses timestamps older than 5 minutes, and retries an event for about 5 minutes;
# an hour covers both with room to spare.
KEEP = timedelta(hours=1)


def first_time(db: Database, keys: list[str], now: datetime) -> bool:
    """Record the request's keys; False when any of them was seen within KEEP."""
    with transaction(db):
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
