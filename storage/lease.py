"""A lease in SQLite so only one worker runs jobs at a time; it expires when its holder
stops renewing it (a killed worker), and another worker takes over."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import transaction


@dataclass
class Lease:
    """Who holds a lease and until when (UTC ISO)."""

    name: str
    holder: str
    expires_at: str


def acquire(db: Database, name: str, holder: str, now: datetime, ttl: timedelta) -> Lease:
    """Take or renew the lease for `holder` unless another holder's is still live; returns
    the lease as it stands afterwards (compare its holder with yours)."""
    with transaction(db):
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
    with transaction(db):
        db["leases"].delete_where("name = ? AND holder = ?", [name, holder])
