"""Buttons: on search results, digests, alerts and App Home."""

from __future__ import annotations

import re

from slack_bolt import App

from bot.listeners.actions.alert_show_all import alert_show_all
from bot.listeners.actions.author_pages import author_pages
from bot.listeners.actions.code_link import code_link
from bot.listeners.actions.digest_manage import digest_manage
from bot.listeners.actions.home_preview import home_preview
from bot.listeners.actions.home_remove import home_remove
from bot.listeners.actions.home_toggle import home_toggle
from bot.listeners.actions.list_pages import list_pages
from bot.listeners.actions.manage_change import manage_change
from bot.listeners.actions.more_like_this import more_like_this
from bot.listeners.actions.paper_authors import author_search, paper_authors
from bot.listeners.actions.save_paper import save_paper
from bot.listeners.actions.saved_pages import saved_pages
from bot.listeners.actions.saved_remove import saved_remove
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
    app.action(re.compile(r"^manage_(pause|resume|remove)_\d+$"))(manage_change)
    app.action("alert_show_all")(alert_show_all)
    # Per-paper buttons carry the paper id (unique within a message of several papers).
    app.action(re.compile(r"^save_paper_\d+$"))(save_paper)
    app.action(re.compile(r"^more_like_\d+$"))(more_like_this)
    app.action(re.compile(r"^paper_authors_\d+$"))(paper_authors)
    app.action(re.compile(r"^author_search_\d+$"))(author_search)
    app.action(re.compile(r"^author_(next|prev)$"))(author_pages)
    app.action(re.compile(r"^saved_remove_\d+$"))(saved_remove)
    app.action(re.compile(r"^saved_(next|prev)$"))(saved_pages)
    app.action(re.compile(r"^list_(next|prev)$"))(list_pages)
    app.action(re.compile(r"^code_link_\d+$"))(code_link)
