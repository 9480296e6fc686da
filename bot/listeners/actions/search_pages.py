"""Next / Previous on a results message: the same message, updated in place."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext, Respond

from bot import views
from bot.commands import page_gone, search_page
from bot.context import Deps
from bot.interaction import click_channel, respond_checked


def search_pages(
    ack: Ack, action: dict, body: dict, respond: Respond, context: BoltContext
) -> None:
    """Show another page of the same query."""
    ack()
    deps: Deps = context["deps"]
    value = action.get("value", "")
    team_id = context.team_id or ""
    result = search_page(deps.db, deps.config, value, team_id, click_channel(body))
    if result is None:
        stale = page_gone(value, "That page is no longer available; search again.")
        respond_checked(respond, "A stale page's note", replace_original=False, **stale)
        return
    page = views.search_message(result)
    respond_checked(respond, "A results page", replace_original=True, **page)
