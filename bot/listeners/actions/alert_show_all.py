"""Show all on a keyword alert of more papers than it shows: its new papers, a page at a time."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import views
from bot.commands import page_gone, search_page
from bot.interaction import answer, click_channel


def alert_show_all(
    ack: Ack, action: dict, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Reply to the clicker with the first page of the alert's new papers (the alert stays)."""
    ack()
    deps = context["deps"]
    team_id = context.team_id or ""
    channel = click_channel(body)
    result = search_page(deps.db, deps.config, action.get("value", ""), team_id, channel)
    if result is None:
        message = page_gone(action.get("value", ""), "Those papers are no longer available.")
    else:
        message = views.search_message(result)
    answer(body, respond, client, deps, context.team_id or "", message)
