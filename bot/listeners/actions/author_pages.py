"""Next / Previous on an author's papers: the same reply, updated in place (on App Home,
Home published again with that page)."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import more_commands, views
from bot.interaction import answer, on_home, respond_checked
from storage.errors import PapersError


def author_pages(
    ack: Ack, action: dict, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Show another page of the same author's papers."""
    ack()
    deps = context["deps"]
    value = action.get("value", "")
    try:
        message = more_commands.author_page(deps.db, value)
    except PapersError as exc:
        message = views.warning_message(exc)
    if message is None:
        stale = views.text_message("That page is no longer available; search again.")
        answer(body, respond, client, deps, context.team_id or "", stale, show_on_home=False)
        return
    if on_home(body) or not body.get("response_url"):
        team = context.team_id or ""
        answer(body, respond, client, deps, team, message, again=("author_page", value))
        return
    respond_checked(respond, "An author's page", replace_original=True, **message)
