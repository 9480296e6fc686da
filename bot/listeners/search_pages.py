"""Next / Previous on a results message: the same message, updated in place."""

from __future__ import annotations

import logging
import re

from slack_bolt import Ack, App, BoltContext, Respond

from bot import views
from bot.context import Deps
from papers.errors import PapersError
from storage.search import search

log = logging.getLogger(__name__)


def search_page(ack: Ack, action: dict, respond: Respond, context: BoltContext) -> None:
    """Show another page of the same query."""
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
        respond(replace_original=True, **views.search_message(result))
    except (PapersError, ValueError, KeyError) as exc:
        log.info("bad page request: %s", type(exc).__name__)
        respond(
            replace_original=False,
            **views.text_message("That page is no longer available; search again."),
        )


def register(app: App) -> None:
    """Register the Next and Previous buttons."""
    app.action(re.compile(r"^search_(next|prev)$"))(search_page)
