"""tokens_revoked: the team's bot token is dead; stop delivering and forget it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_bolt import BoltContext

from bot.context import Deps
from bot.installs import forget_tokens
from storage import teams

log = logging.getLogger(__name__)


def tokens_revoked(event: dict, context: BoltContext, body: dict) -> None:
    """Mark the team's tokens revoked when the bot token is among them."""
    if not (event.get("tokens") or {}).get("bot"):
        return
    deps: Deps = context["deps"]
    team_id = context.team_id or body.get("team_id", "")
    teams.deactivate(deps.db, team_id, teams.REVOKED, datetime.now(UTC))
    # All the team's rows: an installation row holds the bot token too (delete_bot leaves
    # it, and Bolt's authorize reads it before the bot rows). The app asks for no user
    # scopes, so no row of the team holds anything else worth keeping.
    forget_tokens(deps, context.enterprise_id, team_id)
    log.info("team %s revoked the bot token; delivery stopped", team_id)
