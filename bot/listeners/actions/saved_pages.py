"""Next / Previous on /papers saved: another page of the reading list, in place."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext, Respond

from bot import more_commands
from bot.interaction import button_id, respond_checked


def saved_pages(ack: Ack, action: dict, body: dict, respond: Respond, context: BoltContext) -> None:
    """Show the page of the clicker's reading list the button names."""
    ack()
    deps = context["deps"]
    team_id, user_id = context.team_id or "", body["user"]["id"]
    offset = button_id(action.get("value", "")) or 0  # "0" and a forged value: the first
    listed = more_commands.reading_list(deps.db, team_id, user_id, offset)
    respond_checked(respond, "A reading list page", replace_original=True, **listed)
