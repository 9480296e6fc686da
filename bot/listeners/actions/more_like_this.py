"""More like this: the five papers most similar to one, as a reply to the clicker."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import paper_actions
from bot.interaction import answer


def more_like_this(
    ack: Ack, action: dict, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Reply with the papers most like the clicked one."""
    ack()
    deps = context["deps"]
    value = action.get("value", "")
    message = paper_actions.more_like(deps.db, value)
    answer(body, respond, client, deps, context.team_id or "", message, again=("similar", value))
