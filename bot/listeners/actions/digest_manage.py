"""Manage subscription (on digests and alerts): the subscriptions, with how to change them."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import views
from bot.interaction import answer
from storage import subscriptions as subs


def digest_manage(
    ack: Ack, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Reply with the user's subscriptions and the commands that change them (on App Home,
    under a digest preview, where the preview was: Home clicks have no response_url)."""
    ack()
    deps = context["deps"]
    team_id = context.team_id or ""
    user_id = body.get("user", {}).get("id", "")
    mine = subs.visible_to(deps.db, team_id, user_id, (body.get("channel") or {}).get("id"))
    answer(body, respond, client, deps, team_id, views.list_message(mine))
