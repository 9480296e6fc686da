"""Share in channel: post the results page the user is looking at, for everyone."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App, BoltContext, Respond

from bot import views
from bot.context import Deps
from papers.errors import PapersError
from storage.search import search

log = logging.getLogger(__name__)


def search_share(
    ack: Ack, action: dict, body: dict, respond: Respond, context: BoltContext
) -> None:
    """Post the current page in the channel through the response_url (no membership needed)."""
    ack()
    deps: Deps = context["deps"]
    try:
        query, offset = views.page_from_value(action.get("value", ""))
        result = search(
            deps.db,
            query,
            limit=views.PAGE_SIZE,
            offset=offset,
            max_chars=deps.config.max_query_chars,
        )
    except (PapersError, ValueError, KeyError):
        respond(
            replace_original=False, **views.text_message("Those results are gone; search again.")
        )
        return
    user_id = body.get("user", {}).get("id", "")
    respond(
        response_type="in_channel", replace_original=False, **views.shared_message(result, user_id)
    )


def register(app: App) -> None:
    """Register the Share button."""
    app.action("search_share")(search_share)
