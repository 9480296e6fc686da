"""Pause, Resume and Remove on a Manage subscription reply: the change, then the reply
updated in place."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.admins import is_workspace_admin
from bot.installs import serve_again_if_installed
from bot.interaction import answer, button_id, clicker_of, on_home, respond_checked
from bot.manage import change


def manage_change(
    ack: Ack, action: dict, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Change the managed subscription, when the clicker may; show it as it is now."""
    ack()
    deps = context["deps"]
    verb = action["action_id"].split("_")[1]  # manage_<verb>_<id>
    if verb == "resume":  # as App Home's Resume: an uninstalled team is served again first
        serve_again_if_installed(deps, client, context.team_id or "")
    message = change(
        deps.db,
        clicker_of(body, context.team_id),
        button_id(action.get("value", "")) or 0,
        verb,
        lambda user_id: is_workspace_admin(client, user_id),
        datetime.now(UTC),
        deps.config.grace,
    )
    if on_home(body) or not body.get("response_url"):
        answer(body, respond, client, deps, context.team_id or "", message)
    else:
        respond_checked(respond, "A managed subscription", replace_original=True, **message)
