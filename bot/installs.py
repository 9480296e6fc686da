"""A workspace installing the app again, seen from a bot token (one workspace, no OAuth)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import Deps
from storage import teams

log = logging.getLogger(__name__)


def serve_again_if_installed(deps: Deps, client: WebClient, team_id: str) -> int:
    """A command from a team marked uninstalled or revoked: Slack sends commands only to an
    installed app, so when the bot token works for that team again (auth.test: a reinstall
    and a new SLACK_BOT_TOKEN), the team is served again and the subscriptions the uninstall
    paused resume. Returns how many resumed; one Web API call, only for such a team."""
    if not team_id or teams.status(deps.db, team_id) == teams.ACTIVE:
        return 0
    try:
        works = client.auth_test().get("team_id") == team_id
    except (SlackApiError, OSError) as exc:  # the token is still the revoked one
        log.info("team %s is not served: its bot token fails (%s)", team_id, type(exc).__name__)
        return 0
    if not works:
        return 0
    resumed = teams.reactivate(deps.db, team_id, datetime.now(UTC), deps.config.grace)
    log.info("team %s has the app installed again: %d subscriptions resumed", team_id, resumed)
    return resumed
