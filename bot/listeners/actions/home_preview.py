"""Preview my digest: the digest the user's first subscription would get now, on Home."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import views
from bot.home import publish_home
from storage import subscriptions as subs
from storage.digests import select_papers


def home_preview(ack: Ack, body: dict, client: WebClient, context: BoltContext) -> None:
    """Render a preview of the user's digest below their subscriptions."""
    ack()
    deps = context["deps"]
    team_id, user_id = context.team_id or "", body["user"]["id"]
    mine = [s for s in subs.visible_to(deps.db, team_id, user_id) if not s.is_instant]
    preview = None
    if mine:
        now = datetime.now(UTC)
        papers = select_papers(deps.db, mine[0], now, deps.config.digest_size)
        preview = views.digest_message(papers, views.digest_heading(mine[0], now), mine[0].id, True)
    preview = preview or views.text_message(
        "Preview: no digest subscription yet, or nothing new to show."
    )
    publish_home(client, deps, team_id, user_id, preview)
