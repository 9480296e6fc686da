"""Worker bookmarks: small named values that survive restarts."""

from __future__ import annotations

from sqlite_utils import Database

from storage.db import transaction


def get(db: Database, key: str) -> str | None:
    """A bookmark, such as the last paper id alerts have seen."""
    row = next(db["meta"].rows_where("key = ?", [key]), None)
    return row["value"] if row else None


def put(db: Database, key: str, value: str) -> None:
    """Store a bookmark."""
    with transaction(db):
        db["meta"].upsert({"key": key, "value": value}, pk="key")
