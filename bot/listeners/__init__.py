"""Every listener, one per module, registered by its kind's package (as in Bolt's starter
template): commands, actions (buttons) and events."""

from __future__ import annotations

import logging

from slack_bolt import App, BoltContext, BoltResponse, Respond
from slack_sdk import WebClient

from bot import views
from bot.interaction import answer
from bot.listeners import actions, commands, events
from bot.text import escape_mrkdwn
from storage.db import write_refused
from storage.errors import PapersError

log = logging.getLogger(__name__)


def on_error(
    error: Exception, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> BoltResponse:
    """A listener failed after its ack: one clear line for our named errors (a missing or
    read-only database, the search index being built), the traceback only for a bug; never
    the request body. A button's clicker is told (a named error in its words, a bug as
    "something went wrong"), not left with a click that did nothing."""
    kind = body.get("type") or body.get("command") or "request"
    error = write_refused(error) or error  # a lock or a full disk is named, not a bug
    if isinstance(error, PapersError):
        log.error("%s failed: %s", kind, error)
        words = f":warning: {escape_mrkdwn(str(error))}"
    else:
        log.error("%s failed", kind, exc_info=error)
        words = SOMETHING_WRONG
    if kind == "block_actions" and isinstance(body.get("user"), dict):
        _tell_clicker(views.text_message(words), body, respond, client, context)
    return BoltResponse(status=500, body="")


# As /papers answers a failure it did not foresee.
SOMETHING_WRONG = "Something went wrong on my side; please try again in a minute."


def _tell_clicker(
    message: dict, body: dict, respond: Respond, client: WebClient, context: BoltContext
) -> None:
    try:
        answer(body, respond, client, context["deps"], context.team_id or "", message)
    except Exception as exc:  # the database or Slack failing too: the log line above stays
        log.error("could not tell the clicker: %s", type(exc).__name__)


def register(app: App) -> None:
    """Register every listener on the app."""
    commands.register(app)
    actions.register(app)
    events.register(app)
    app.error(on_error)
