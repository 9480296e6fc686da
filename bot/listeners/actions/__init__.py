"""Buttons: on search results, digests, alerts and App Home."""

from __future__ import annotations

import re

from slack_bolt import App

from bot.listeners.actions.digest_manage import digest_manage
from bot.listeners.actions.home_preview import home_preview
from bot.listeners.actions.home_remove import home_remove
from bot.listeners.actions.home_toggle import home_toggle
from bot.listeners.actions.search_pages import search_pages
from bot.listeners.actions.search_share import search_share


def register(app: App) -> None:
    """Register every button."""
    app.action(re.compile(r"^search_(next|prev)$"))(search_pages)
    app.action("search_share")(search_share)
    # App Home action_ids carry the subscription id: they must be unique within a view.
    app.action(re.compile(r"^home_(pause|resume)_\d+$"))(home_toggle)
    app.action(re.compile(r"^home_remove_\d+$"))(home_remove)
    app.action(re.compile(r"^home_preview_\d+$"))(home_preview)
    app.action("digest_manage")(digest_manage)
