"""Share in channel: post the results page the user is looking at, for everyone."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext, Respond

from bot import views
from bot.commands import search_page
from bot.context import Deps


def search_share(
    ack: Ack, action: dict, body: dict, respond: Respond, context: BoltContext
) -> None:
    """Post the current page in the channel through the response_url (no membership needed)."""
    ack()
    deps: Deps = context["deps"]
    result = search_page(deps.db, deps.config, action.get("value", ""))
    if result is None:
        respond(
            replace_original=False, **views.text_message("Those results are gone; search again.")
        )
        return
    user_id = body.get("user", {}).get("id", "")
    respond(
        response_type="in_channel", replace_original=False, **views.shared_message(result, user_id)
    )
