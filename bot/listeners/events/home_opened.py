"""app_home_opened: publish the user's Home tab."""

from __future__ import annotations

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.home import publish_home


def home_opened(event: dict, client: WebClient, context: BoltContext) -> None:
    """Publish the Home tab (events need no ack)."""
    if event.get("tab", "home") != "home":
        return
    publish_home(client, context["deps"], context.team_id or "", event["user"])
