"""Remove button on App Home."""

from __future__ import annotations

import contextlib

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.home import publish_home
from storage import subscriptions as subs
from storage.errors import PapersError


def home_remove(
    ack: Ack, action: dict, body: dict, client: WebClient, context: BoltContext
) -> None:
    """Remove one of the user's subscriptions, then re-render Home."""
    ack()
    deps = context["deps"]
    team_id, user_id = context.team_id or "", body["user"]["id"]
    # Already gone, or not theirs: re-rendering shows the truth either way.
    with contextlib.suppress(PapersError):
        subs.remove(deps.db, team_id, user_id, action.get("value", ""))
    publish_home(client, deps, team_id, user_id)
