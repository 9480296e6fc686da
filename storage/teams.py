"""Workspaces that uninstalled the app or revoked its tokens: nothing is sent to them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import transaction
from storage.subscriptions import (
    FIXED_BY_REINSTALL,
    NO_TOKEN,
    REFUSED,
    REVOKED,
    UNINSTALLED,
    pause_team,
    resume_team,
)

ACTIVE = "active"
# Why a team is not served (UNINSTALLED, REVOKED, REFUSED: its subscriptions are paused with
# the same words) and what else a reinstall resumes live in storage.subscriptions, where a
# member's own pause must know them; callers name them here as teams.UNINSTALLED etc.


def deactivate(db: Database, team_id: str, reason: str, now: datetime) -> int:
    """Mark a team gone and pause all its subscriptions; returns how many were paused."""
    with transaction(db):
        db["teams"].upsert(
            {"team_id": team_id, "status": reason, "changed_at": now.isoformat()}, pk="team_id"
        )
        return pause_team(db, team_id, reason)


def reactivate(db: Database, team_id: str, now: datetime, grace: timedelta) -> int:
    """Serve a team again after it installed the app anew: the subscriptions `deactivate`
    paused resume, and those Slack refused for want of a scope or an active bot user (ones a
    member paused, or whose channel Slack refused, stay paused); returns how many.
    Slack sends both tokens_revoked and app_uninstalled on an uninstall, and the worker may
    have found the token dead first, so any of the reasons may be on a subscription
    whatever the team's last status says."""
    with transaction(db):
        row = next(db["teams"].rows_where("team_id = ?", [team_id]), None)
        # A new token, whatever the team's status: what paused for want of a working one
        # (or of the scopes the reinstall grants) resumes (REFUSED too: a worker stopped
        # between pausing a subscription and marking the team left the team active).
        reasons = {*FIXED_BY_REINSTALL, NO_TOKEN, REFUSED}
        if row is not None and row["status"] != ACTIVE:
            db["teams"].update(team_id, {"status": ACTIVE, "changed_at": now.isoformat()})
            reasons |= {UNINSTALLED, REVOKED, row["status"]}
        # Due at their next slot, as any resume (`grace`: the worker's PAPERS_GRACE_MINUTES).
        return resume_team(db, team_id, sorted(reasons), now, grace)


def status(db: Database, team_id: str) -> str:
    """The team's status: ACTIVE, or why it is not served (UNINSTALLED, REVOKED, REFUSED)."""
    row = next(db["teams"].rows_where("team_id = ?", [team_id], select="status"), None)
    return row["status"] if row else ACTIVE
