"""Events: App Home opened, paper links shared, a member's timezone changed, and the app's
lifecycle in a workspace."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners.events.app_uninstalled import app_uninstalled
from bot.listeners.events.home_opened import home_opened
from bot.listeners.events.link_shared import link_shared
from bot.listeners.events.tokens_revoked import tokens_revoked
from bot.listeners.events.user_change import user_change


def register(app: App) -> None:
    """Register every event."""
    app.event("app_home_opened")(home_opened)
    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)
    app.event("link_shared")(link_shared)
    app.event("user_change")(user_change)
