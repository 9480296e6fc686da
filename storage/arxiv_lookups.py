"""Which arXiv ids were looked up through the arXiv API for link unfurls, and when: a paper
found is then in the store; an id arXiv does not know is not asked for again for hours, a
lookup that failed (arXiv down, an error page) only for a few minutes."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import transaction

RETRY_AFTER = timedelta(hours=6)
# An outage is usually short: retried soon, yet not on every paste while it lasts.
FAILED_RETRY_AFTER = timedelta(minutes=5)
NOT_FOUND = "not found"  # the detail of a lookup arXiv answered without the paper


def recently_missed(db: Database, arxiv_id: str, now: datetime) -> bool:
    """True when arXiv did not know this id less than RETRY_AFTER ago, or a lookup of it
    failed less than FAILED_RETRY_AFTER ago."""
    row = next(db["arxiv_lookups"].rows_where("arxiv_id = ? AND found = 0", [arxiv_id]), None)
    if row is None:
        return False
    wait = RETRY_AFTER if row["detail"] == NOT_FOUND else FAILED_RETRY_AFTER
    return datetime.fromisoformat(row["looked_up_at"]) > now - wait


def record(db: Database, arxiv_id: str, found: bool, now: datetime, detail: str = "") -> None:
    """Remember one lookup's outcome."""
    with transaction(db):
        db["arxiv_lookups"].upsert(
            {
                "arxiv_id": arxiv_id,
                "looked_up_at": now.isoformat(),
                "found": int(found),
                "detail": detail[:300],
            },
            pk="arxiv_id",
        )


def lookups(db: Database) -> list[dict]:
    """Every lookup made (for `papers stats` and tests)."""
    return list(db["arxiv_lookups"].rows_where(order_by="looked_up_at"))
