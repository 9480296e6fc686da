"""Save (on results, digests, alerts and unfurls): add the paper to the reading list."""

from __future__ import annotations

from datetime import UTC, datetime

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import paper_actions
from bot.interaction import answer


def save_paper(
    ack: Ack, action: dict, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Save the paper for the clicking user of this team, and say so."""
    ack()
    deps = context["deps"]
    team_id, user_id = context.team_id or "", body["user"]["id"]
    message, on_list = paper_actions.save(
        deps.db, team_id, user_id, action.get("value", ""), datetime.now(UTC)
    )
    # On App Home the reading list below shows a saved paper; a refusal needs its words.
    answer(body, respond, client, deps, team_id, message, show_on_home=not on_list)
