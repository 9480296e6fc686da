"""Workspaces that uninstalled the app or revoked its tokens: nothing is sent to them."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.db import transaction
from storage.subscriptions import pause_team


def deactivate(db: Database, team_id: str, reason: str, now: datetime) -> int:
    """Mark a team gone and pause all its subscriptions; returns how many were paused."""
    with transaction(db):
        db["teams"].upsert(
            {"team_id": team_id, "status": reason, "changed_at": now.isoformat()}, pk="team_id"
        )
        return pause_team(db, team_id, reason)
