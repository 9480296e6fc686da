"""The reading list: papers a user saved, per user and per team."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.db import transaction
from storage.errors import NotFound, SubscriptionError
from storage.papers import get_papers

MAX_SAVED = 500


def save(db: Database, team_id: str, user_id: str, paper_id: int, now: datetime) -> bool:
    """Add a paper to the user's reading list; False when it was already there."""
    with transaction(db):
        if not db["papers"].count_where("id = ?", [paper_id]):
            raise NotFound("That paper is no longer in the store.")
        if db["saved"].count_where(
            "team_id = ? AND user_id = ? AND paper_id = ?", [team_id, user_id, paper_id]
        ):
            return False
        if db["saved"].count_where("team_id = ? AND user_id = ?", [team_id, user_id]) >= MAX_SAVED:
            raise SubscriptionError(
                f"Your reading list holds {MAX_SAVED} papers, the most allowed; remove one first."
            )
        db["saved"].insert(
            {
                "team_id": team_id,
                "user_id": user_id,
                "paper_id": paper_id,
                "saved_at": now.isoformat(),
            }
        )
    return True


def remove(db: Database, team_id: str, user_id: str, paper_id: int) -> bool:
    """Take a paper off the user's reading list; False when it was not on it."""
    with transaction(db):
        return bool(
            db.execute(
                "DELETE FROM saved WHERE team_id = ? AND user_id = ? AND paper_id = ?",
                [team_id, user_id, paper_id],
            ).rowcount
        )


def saved_papers(
    db: Database, team_id: str, user_id: str, limit: int = 20, offset: int = 0
) -> list[dict]:
    """The user's saved papers, most recently saved first (from the `offset`-th on)."""
    rows = db["saved"].rows_where(
        "team_id = ? AND user_id = ?",
        [team_id, user_id],
        select="paper_id",
        order_by="saved_at DESC, rowid DESC",
        limit=limit,
        offset=max(offset, 0),
    )
    return get_papers(db, [row["paper_id"] for row in rows])


def count_saved(db: Database, team_id: str, user_id: str) -> int:
    """How many papers the user has saved."""
    return db["saved"].count_where("team_id = ? AND user_id = ?", [team_id, user_id])
