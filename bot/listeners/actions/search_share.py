"""Share in channel: post the results page the user is looking at, for everyone."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from slack_bolt import Ack, BoltContext, Respond

from bot import views
from bot.commands import page_gone, search_page
from bot.context import Deps
from bot.interaction import click_channel, respond_checked
from storage import replays

NOT_SHARED = (
    ":warning: Slack did not post these results in this channel, so they are not shared."
    " Press *Share in channel* again to try once more."
)


def share_key(body: dict, value: str) -> str:
    """One share: this page of this results message in this channel. A second press, a
    double click or a retried request carries the same message ts and button value."""
    container = body.get("container") or {}
    message = container.get("message_ts") or body.get("user", {}).get("id", "")
    channel = click_channel(body) or ""
    team = body.get("team", {}).get("id", "")
    raw = "\x1f".join((team, channel, message, value))
    return "share:" + hashlib.sha256(raw.encode()).hexdigest()


def search_share(
    ack: Ack, action: dict, body: dict, respond: Respond, context: BoltContext
) -> None:
    """Post the current page in the channel through the response_url (no membership needed),
    once per page of a results message."""
    ack()
    deps: Deps = context["deps"]
    value = action.get("value", "")
    team_id = context.team_id or ""
    result = search_page(deps.db, deps.config, value, team_id, click_channel(body))
    if result is None:
        stale = page_gone(value, "Those results are gone; search again.")
        respond_checked(respond, "A stale page's note", replace_original=False, **stale)
        return
    key = share_key(body, value)
    if not replays.first_time(deps.db, [key], datetime.now(UTC)):
        respond(
            replace_original=False,
            **views.text_message("You already shared these results in this channel."),
        )
        return
    user_id = body.get("user", {}).get("id", "")
    try:
        shared = respond_checked(
            respond,
            "Share in channel",
            NOT_SHARED,
            response_type="in_channel",
            replace_original=False,
            **views.shared_message(result, user_id),
        )
    except Exception:
        replays.forget(deps.db, [key])  # not posted: a second press may try again
        raise
    if not shared:  # Slack refused it (the sharer is told): a second press tries again
        replays.forget(deps.db, [key])
