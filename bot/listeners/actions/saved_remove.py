"""Remove (on /papers saved and the App Home reading list)."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import more_commands, paper_actions, views
from bot.home import refresh_home
from bot.interaction import on_home, respond_checked


def saved_remove(
    ack: Ack, action: dict, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Take the paper off the reading list, then show the list again in place."""
    ack()
    deps = context["deps"]
    team_id, user_id = context.team_id or "", body["user"]["id"]
    paper_actions.remove_saved(deps.db, team_id, user_id, action.get("value", ""))
    if on_home(body):
        refresh_home(client, deps, team_id, user_id, body)
    else:
        # The page the paper was on, shown again (its block names the page).
        page = views.saved_page_of(action.get("block_id", ""))
        listed = more_commands.reading_list(deps.db, team_id, user_id, page)
        respond_checked(respond, "A reading list page", replace_original=True, **listed)
