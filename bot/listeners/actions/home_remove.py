"""Remove button on App Home."""

from __future__ import annotations

import contextlib

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot.admins import is_workspace_admin
from bot.home import refresh_home
from bot.interaction import button_id
from storage import subscriptions as subs
from storage.errors import PapersError


def home_remove(
    ack: Ack, action: dict, body: dict, client: WebClient, context: BoltContext
) -> None:
    """Remove a subscription the user may change (subs.may_change), then re-render Home."""
    ack()
    deps = context["deps"]
    team_id, user_id = context.team_id or "", body["user"]["id"]
    # Already gone, or not theirs: re-rendering shows the truth either way.
    with contextlib.suppress(PapersError, ValueError):
        sub = subs.get(deps.db, team_id, button_id(action.get("value", "")) or 0)
        admin = sub.user_id != user_id and is_workspace_admin(client, user_id)
        subs.remove(deps.db, team_id, user_id, str(sub.id), sub.target, admin)
    refresh_home(client, deps, team_id, user_id, body)
