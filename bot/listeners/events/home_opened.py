"""app_home_opened: publish the user's Home tab."""

from __future__ import annotations

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.home import publish_home
from bot.installs import serve_again_if_installed


def home_opened(event: dict, client: WebClient, context: BoltContext) -> None:
    """Publish the Home tab (events need no ack). Slack shows Home only for an installed
    app: a team marked uninstalled is served again first (its subscriptions resume, and Home
    shows them as they are, not paused by the old uninstall)."""
    if event.get("tab", "home") != "home":
        return
    serve_again_if_installed(context["deps"], client, context.team_id or "")
    publish_home(client, context["deps"], context.team_id or "", event["user"])
