"""Pause / Resume buttons on App Home."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient

from bot import views
from bot.admins import is_workspace_admin
from bot.home import publish_home, refresh_home, view_hash
from bot.installs import serve_again_if_installed
from bot.interaction import button_id
from storage import subscriptions as subs
from storage.errors import NotFound, PapersError
from storage.subscriptions import Status


def home_toggle(
    ack: Ack, action: dict, body: dict, client: WebClient, context: BoltContext
) -> None:
    """Pause or resume one of the user's subscriptions, then re-render Home."""
    ack()
    deps = context["deps"]
    team_id, user_id = context.team_id or "", body["user"]["id"]
    pausing = action["action_id"].startswith("home_pause")
    status = Status.PAUSED if pausing else Status.ACTIVE
    # A Resume that makes a subscription active must mean delivery: a team still marked
    # uninstalled (a click comes only from an installed app) is served again first.
    serve_again_if_installed(deps, client, team_id)
    sub_id = button_id(action.get("value", "")) or 0
    try:
        sub = subs.get(deps.db, team_id, sub_id)
        admin = sub.user_id != user_id and is_workspace_admin(client, user_id)
        # A stale button (Home from before the worker paused it) changes nothing so already.
        if subs.may_change(sub, user_id, admin) and subs.changes_status(sub, status):
            now, grace = datetime.now(UTC), deps.config.grace
            subs.set_status(
                deps.db, team_id, sub.id, status, "paused from App Home", now=now, grace=grace
            )
    except NotFound:
        # Removed since this Home was rendered (a command, an admin): re-rendered alone, it
        # just vanished and the click seemed to do nothing; say why, where a preview goes.
        verb = "pause" if pausing else "resume"
        which = f"#{sub_id}" if sub_id else "That subscription"
        gone = views.text_message(
            f"{which} is gone: it was removed, so there is nothing to {verb}."
        )
        publish_home(client, deps, team_id, user_id, gone, None, view_hash(body), under=sub_id)
        return
    except (PapersError, ValueError):
        pass  # nothing changed: re-rendering shows the truth
    refresh_home(client, deps, team_id, user_id, body)
