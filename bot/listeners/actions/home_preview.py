"""Preview on App Home: the digest one subscription would get now, shown under it."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import views
from bot.home import publish_home
from bot.interaction import button_id
from storage import subscriptions as subs
from storage.digests import select_papers
from storage.errors import NotFound


def home_preview(ack: Ack, action: dict, body: dict, client: WebClient, context: BoltContext):
    """Render a preview of the chosen subscription's digest below it."""
    ack()
    deps = context["deps"]
    team_id, user_id = context.team_id or "", body["user"]["id"]
    try:
        sub = subs.get(deps.db, team_id, button_id(action.get("value", "")) or 0)
    except NotFound:
        sub = None
    if sub is None or sub not in subs.visible_to(deps.db, team_id, user_id) or sub.is_instant:
        preview = views.text_message("That subscription is gone; nothing to preview.")
        publish_home(client, deps, team_id, user_id, preview)
        return
    now = datetime.now(UTC)
    papers = select_papers(deps.db, sub, now, deps.config.digest_size)
    preview = views.preview_message(sub, papers, now)
    publish_home(client, deps, team_id, user_id, preview, preview_of=sub.id)
