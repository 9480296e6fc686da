"""Every listener, one per module, registered by its kind's package (as in Bolt's starter
template): commands, actions (buttons) and events."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, commands, events


def register(app: App) -> None:
    """Register every listener on the app."""
    commands.register(app)
    actions.register(app)
    events.register(app)
