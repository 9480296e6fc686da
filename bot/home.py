"""App Home: the user's subscriptions, rendered and published."""

from __future__ import annotations

from slack_sdk import WebClient

from bot import views
from bot.context import Deps
from storage import subscriptions as subs


def publish_home(
    client: WebClient,
    deps: Deps,
    team_id: str,
    user_id: str,
    preview: dict | None = None,
    preview_of: int | None = None,
) -> None:
    """Render and publish the Home tab for one user of one team."""
    mine = subs.visible_to(deps.db, team_id, user_id)
    last = {s.id: subs.last_delivery(deps.db, s.id) for s in mine}
    client.views_publish(user_id=user_id, view=views.home_view(mine, last, preview, preview_of))
