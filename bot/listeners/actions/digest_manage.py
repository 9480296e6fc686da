"""Manage subscription (on digests and alerts): the subscriptions, with how to change them."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext, Respond

from bot import views
from storage import subscriptions as subs


def digest_manage(ack: Ack, body: dict, respond: Respond, context: BoltContext) -> None:
    """Reply with the user's subscriptions and the commands that change them."""
    ack()
    deps = context["deps"]
    user_id = body.get("user", {}).get("id", "")
    mine = subs.visible_to(
        deps.db, context.team_id or "", user_id, body.get("channel", {}).get("id")
    )
    message = views.list_message(mine)
    respond(replace_original=False, response_type="ephemeral", **message)
