"""A lease in SQLite so only one worker runs jobs at a time; it expires when its holder
stops renewing it (a killed worker), and another worker takes over."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import BUSY_TIMEOUT_MS, primary_code, transaction
from storage.errors import DatabaseError


@dataclass
class Lease:
    """Who holds a lease and until when (UTC ISO)."""

    name: str
    holder: str
    expires_at: str


@contextmanager
def _written(db: Database) -> Iterator[Database]:
    """A write transaction; a lock held past the busy timeout (a long ingest or reindex in
    another process) is a DatabaseError the worker logs and retries, not a crash."""
    try:
        with transaction(db):
            yield db
    except sqlite3.OperationalError as exc:
        if primary_code(exc) not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise  # not a lock: a real fault, reported as it is
        raise DatabaseError(
            f"The database is busy: another process (a long `papers ingest` or `papers "
            f"reindex`) held its write lock for over {BUSY_TIMEOUT_MS // 1000} s ({exc}); "
            "the worker tries again shortly."
        ) from exc


def acquire(db: Database, name: str, holder: str, now: datetime, ttl: timedelta) -> Lease:
    """Take or renew the lease for `holder` unless another holder's is still live; returns
    the lease as it stands afterwards (compare its holder with yours)."""
    with _written(db):
        row = next(db["leases"].rows_where("name = ?", [name]), None)
        if row and row["holder"] != holder and row["expires_at"] > now.isoformat():
            return Lease(name, row["holder"], row["expires_at"])
        expires = (now + ttl).isoformat()
        acquired = row["acquired_at"] if row and row["holder"] == holder else now.isoformat()
        db["leases"].upsert(
            {"name": name, "holder": holder, "acquired_at": acquired, "expires_at": expires},
            pk="name",
        )
        return Lease(name, holder, expires)


def release(db: Database, name: str, holder: str) -> None:
    """Give the lease up at a clean shutdown so another worker need not wait for expiry."""
    with _written(db):
        db["leases"].delete_where("name = ? AND holder = ?", [name, holder])
