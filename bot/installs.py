"""One workspace on a bot token (no OAuth): the app installed again, and requests from
any other workspace."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from slack_bolt import BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import Deps
from storage import teams

log = logging.getLogger(__name__)


def forget_tokens(deps: Deps, enterprise_id: str | None, team_id: str) -> None:
    """Delete every token stored for the workspace (OAuth mode). A workspace that installed
    before it joined an Enterprise Grid organisation has its rows under no organisation,
    while its uninstall names one: deleted under the organisation only, they stayed."""
    if deps.installation_store is None:
        return
    deps.installation_store.delete_all(enterprise_id=enterprise_id, team_id=team_id)
    if enterprise_id:
        deps.installation_store.delete_all(enterprise_id=None, team_id=team_id)


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


# The answer to a workspace a one-token deployment cannot serve.
NOT_THIS_WORKSPACE = (
    ":warning: papers here is set up for one workspace (its bot token is another"
    " workspace's), so it cannot serve this one. Ask your Slack admin: serving several"
    " workspaces takes SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth) instead of"
    " SLACK_BOT_TOKEN."
)


def one_workspace_only(context: BoltContext, body: dict, next: Callable[[], BoltResponse]):  # noqa: A002 - Bolt's argument name
    """Middleware for a one-token deployment: a command or event from a workspace other
    than the token's (auth.test's team) is answered in one line and not acted on; with that
    token every reply would be refused and every digest posted into the wrong workspace.
    Buttons pass: a member of another workspace may click one on a message the bot posted
    in a channel shared with it (Slack Connect)."""
    result = context.authorize_result
    served = result.team_id if result else None
    asked = "command" in body or body.get("type") == "event_callback"
    if not asked or not served or not context.team_id or context.team_id == served:
        return next()
    log.info("refused a request from team %s: the bot token is team %s's", context.team_id, served)
    if "command" in body:  # the refusal is the ack itself: nothing to wait for before it
        return BoltResponse(
            status=200, body={"text": NOT_THIS_WORKSPACE, "response_type": "ephemeral"}
        )
    return BoltResponse(status=200, body="")
