"""Next / Previous on /papers list: another page of the subscriptions, in place."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext, Respond

from bot import commands
from bot.interaction import button_id, click_channel, respond_checked


def list_pages(ack: Ack, action: dict, body: dict, respond: Respond, context: BoltContext) -> None:
    """Show the page of the clicker's (and the channel's) subscriptions the button names."""
    ack()
    deps = context["deps"]
    team_id, user_id = context.team_id or "", body["user"]["id"]
    offset = button_id(action.get("value", "")) or 0  # "0" and a forged value: the first
    page = commands.subscription_list(deps.db, team_id, user_id, click_channel(body), offset)
    respond_checked(respond, "A subscriptions page", replace_original=True, **page)
