"""Preview on App Home: the digest one subscription would get now, shown under it."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import views
from bot.home import digest_preview, no_preview, publish_home, view_hash
from bot.interaction import button_id


def home_preview(ack: Ack, action: dict, body: dict, client: WebClient, context: BoltContext):
    """Render a preview of the chosen subscription's digest below it."""
    ack()
    deps = context["deps"]
    team_id, user_id = context.team_id or "", body["user"]["id"]
    sub_id = button_id(action.get("value", "")) or 0
    preview = digest_preview(deps, team_id, user_id, sub_id)
    if preview is None:
        why = views.text_message(no_preview(deps, team_id, user_id, sub_id))
        publish_home(client, deps, team_id, user_id, why, None, view_hash(body), under=sub_id)
        return
    publish_home(client, deps, team_id, user_id, preview, sub_id, view_hash(body))
