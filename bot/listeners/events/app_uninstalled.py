"""app_uninstalled: stop all delivery to the team and forget its tokens."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_bolt import BoltContext

from bot.context import Deps
from bot.installs import forget_tokens
from storage import teams

log = logging.getLogger(__name__)


def app_uninstalled(context: BoltContext, body: dict) -> None:
    """Mark the team gone (idempotent: Slack may retry events); OAuth mode deletes its tokens."""
    deps: Deps = context["deps"]
    team_id = context.team_id or body.get("team_id", "")
    teams.deactivate(deps.db, team_id, teams.UNINSTALLED, datetime.now(UTC))
    forget_tokens(deps, context.enterprise_id, team_id)
    log.info("team %s uninstalled the app; delivery stopped", team_id)
