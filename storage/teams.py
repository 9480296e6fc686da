"""Workspaces that uninstalled the app or revoked its tokens: nothing is sent to them."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.db import transaction


def deactivate(db: Database, team_id: str, reason: str, now: datetime) -> int:
    """Mark a team gone and pause all its subscriptions; returns how many were paused."""
    with transaction(db):
        db.execute(
            "INSERT INTO teams (team_id, status, changed_at) VALUES (?, ?, ?)"
            " ON CONFLICT(team_id) DO UPDATE SET status = excluded.status,"
            " changed_at = excluded.changed_at",
            [team_id, reason, now.isoformat()],
        )
        return db.execute(
            "UPDATE subscriptions SET status = 'paused', paused_reason = ?"
            " WHERE team_id = ? AND status = 'active'",
            [reason, team_id],
        ).rowcount
