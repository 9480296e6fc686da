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


def is_active(db: Database, team_id: str) -> bool:
    """False once the team uninstalled the app or revoked its tokens."""
    row = next(db.query("SELECT status FROM teams WHERE team_id = ?", [team_id]), None)
    return row is None or row["status"] == "active"


def reactivate(db: Database, team_id: str, now: datetime) -> None:
    """A team installed the app again."""
    with transaction(db):
        db.execute(
            "UPDATE teams SET status = 'active', changed_at = ? WHERE team_id = ?",
            [now.isoformat(), team_id],
        )
