"""Every listener, one per module, registered here."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import (
    app_uninstalled,
    digest_manage,
    home_opened,
    home_preview,
    home_remove,
    home_toggle,
    papers_command,
    search_pages,
    search_share,
    tokens_revoked,
)

MODULES = (
    papers_command,
    search_pages,
    search_share,
    home_opened,
    home_toggle,
    home_remove,
    home_preview,
    digest_manage,
    app_uninstalled,
    tokens_revoked,
)


def register(app: App) -> None:
    """Register every listener on the app."""
    for module in MODULES:
        module.register(app)
