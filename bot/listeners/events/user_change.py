"""user_change: a member's Slack profile changed; their DM digests follow a new timezone."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_bolt import BoltContext

from bot.context import Deps
from storage import subscriptions as subs

log = logging.getLogger(__name__)


def user_change(event: dict, context: BoltContext) -> None:
    """Move the member's personal digests set up without a timezone to the one Slack now
    gives them (idempotent: Slack may retry events, and sends this for any profile edit)."""
    deps: Deps = context["deps"]
    user = event.get("user") or {}
    team_id = context.team_id or user.get("team_id") or ""
    if not user.get("id") or not user.get("tz"):
        return
    moved = subs.follow_slack_tz(deps.db, team_id, user["id"], user["tz"], datetime.now(UTC))
    if moved:
        log.info(
            "member %s changed Slack timezone to %s: subscriptions %s follow",
            user["id"],
            user["tz"],
            ", ".join(f"#{sub.id}" for sub in moved),
        )
