"""Manage subscription (on digests and alerts): the subscription the message was for, with
how to change it, and the member's others."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot.admins import is_workspace_admin
from bot.interaction import answer, button_id, clicker_of
from bot.manage import manage_reply


def digest_manage(
    ack: Ack, action: dict, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Reply with the message's subscription: its state, Pause/Resume and Remove for a
    member who may change it, the commands that change its time (on App Home, under a
    digest preview, where the preview was: Home clicks have no response_url)."""
    ack()
    deps = context["deps"]
    sub_id = button_id(action.get("value", "")) or 0
    message = manage_reply(
        deps.db,
        clicker_of(body, context.team_id),
        sub_id,
        lambda user_id: is_workspace_admin(client, user_id),
        datetime.now(UTC),
    )
    answer(body, respond, client, deps, context.team_id or "", message)
