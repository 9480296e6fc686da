"""Slash commands."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners.commands.papers import papers_command


def register(app: App) -> None:
    """Register /papers."""
    app.command("/papers")(papers_command)
