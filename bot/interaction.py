"""Answering a button click where it happened: in the message's thread of replies (through
its response_url, visible to the clicker only) or, on App Home, by re-publishing Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient

from bot import views
from bot.context import Deps
from bot.home import publish_home, refresh_home, shown_under, view_hash
from bot.manage import Clicker

log = logging.getLogger(__name__)
SOMETHING_WRONG = "Something went wrong on my side; please try again in a minute."

# SQLite's rowids are signed 64-bit: a bigger number in a button is no row of ours (and
# would make SQLite raise OverflowError instead of finding nothing).
MAX_ROW_ID = 2**63 - 1


def button_id(value: str) -> int | None:
    """The paper or subscription id a button carries, or None for a malformed one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ROW_ID else None


def click_channel(body: dict) -> str | None:
    """The channel a button was clicked in (Slack signs it), or None (App Home)."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    return channel if isinstance(channel, str) and channel else None


def clicker_of(body: dict, team_id: str | None) -> Clicker:
    """Who clicked where: the payload's workspace (`team_id`, Bolt's), the clicker's own
    (user.team_id: in a Slack Connect channel the payload's may be the channel's host) and
    the channel."""
    user = body.get("user") or {}
    own = user.get("team_id") or team_id or ""
    return Clicker(team_id or own, own, user.get("id", ""), click_channel(body))


def on_home(body: dict) -> bool:
    """The click came from the App Home tab."""
    return (body.get("view") or {}).get("type") == "home"


def answer(
    body: dict,
    respond: Respond,
    client: WebClient,
    deps: Deps,
    team_id: str,
    message: dict,
    show_on_home: bool = True,
    again: tuple[str, str] | None = None,
) -> None:
    """Reply to the clicker: an ephemeral message; on App Home (no response_url) a refreshed
    Home with the message where the digest preview goes (or, when `show_on_home` is off,
    Home as it was, its preview kept). `again` (kind, value) lets a later change on Home
    build this reply anew (bot.home.refresh_home)."""
    if on_home(body) or not body.get("response_url"):
        if show_on_home:
            # Where the clicked preview was (the reply replaces it), not at the end of Home.
            user_id, under = body["user"]["id"], shown_under(body)
            hashed = view_hash(body)
            publish_home(client, deps, team_id, user_id, message, None, hashed, again, under)
        else:
            refresh_home(client, deps, team_id, body["user"]["id"], body)
    else:
        reply = {"response_type": "ephemeral", "replace_original": False, **message}
        respond_checked(respond, "A button's reply", **reply)


def respond_checked(
    respond: Respond, what: str, fallback: str = SOMETHING_WRONG, **message: Any
) -> bool:
    """Post through the response_url; returns whether Slack took the message. A refusal (an
    invalid block, a used or expired URL) is returned by respond, never raised: it is logged
    with Slack's error (never the response_url, a credential for 30 minutes), and `fallback`
    goes instead as a plain reply, so a command or a click is never met with nothing."""
    sent = respond(**message)
    if sent.status_code == 200:
        return True
    log.error("%s was refused by Slack: HTTP %s %s", what, sent.status_code, sent.body[:100])
    respond(response_type="ephemeral", replace_original=False, **views.text_message(fallback))
    return False
