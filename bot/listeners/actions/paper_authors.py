"""Authors (on every paper) and Papers by … (on the authors reply): author search by click,
since a mrkdwn link cannot run `/papers author:"…"`."""

from __future__ import annotations

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient

from bot import more_commands, paper_actions, views
from bot.interaction import answer
from storage.errors import PapersError


def paper_authors(
    ack: Ack, action: dict, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Reply with the paper's authors, each with a Papers by … button."""
    ack()
    deps = context["deps"]
    value = action.get("value", "")
    message = paper_actions.authors_of(deps.db, value)
    answer(body, respond, client, deps, context.team_id or "", message, again=("authors", value))


def author_search(
    ack: Ack, action: dict, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    """Reply with the papers of the clicked author, as `/papers author:"…"` would."""
    ack()
    deps = context["deps"]
    value = action.get("value", "")
    try:
        message = more_commands.author_search(deps.db, value)
    except PapersError as exc:
        message = views.warning_message(exc)
    answer(body, respond, client, deps, context.team_id or "", message, again=("author", value))
