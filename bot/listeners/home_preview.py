"""Preview my digest: the digest the user's first subscription would get now, on Home."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import views
from bot.listeners.home_opened import publish_home
from jobs.digests import build_digest
from storage import subscriptions as subs


def home_preview(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """Render a preview of the user's digest below their subscriptions."""
    ack()
    deps = context["deps"]
    team_id, user_id = context.team_id or "", body["user"]["id"]
    mine = [s for s in subs.visible_to(deps.db, team_id, user_id) if s.frequency != "instant"]
    preview = None
    if mine:
        preview = build_digest(
            deps.db, deps.config, mine[0], datetime.now(UTC), preview=True
        ).message
    preview = preview or views.text_message(
        "Preview: no digest subscription yet, or nothing new to show."
    )
    publish_home(client, deps, team_id, user_id, preview)


def register(app: App) -> None:
    """Register Preview my digest."""
    app.action("home_preview")(home_preview)
