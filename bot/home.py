"""App Home: the user's subscriptions, rendered and published."""

from __future__ import annotations

from slack_sdk import WebClient

from bot import views
from bot.context import Deps
from storage import saved
from storage import subscriptions as subs


def publish_home(
    client: WebClient,
    deps: Deps,
    team_id: str,
    user_id: str,
    preview: dict | None = None,
    preview_of: int | None = None,
) -> None:
    """Render and publish the Home tab for one user of one team: subscriptions, the reading
    list, and a digest preview when asked for."""
    mine = subs.visible_to(deps.db, team_id, user_id)
    last = {s.id: subs.last_delivery(deps.db, s.id) for s in mine}
    reading = saved.saved_papers(deps.db, team_id, user_id, limit=views.SAVED_IN_HOME)
    view = views.home_view(mine, last, preview, preview_of, reading)
    client.views_publish(user_id=user_id, view=view)
