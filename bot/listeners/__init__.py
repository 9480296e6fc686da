"""Every listener, one per module, registered by its kind's package (as in Bolt's starter
template): commands, actions (buttons) and events."""

from __future__ import annotations

import logging

from slack_bolt import App, BoltResponse

from bot.listeners import actions, commands, events
from storage.errors import PapersError

log = logging.getLogger(__name__)


def on_error(error: Exception, body: dict) -> BoltResponse:
    """A listener failed after its ack: one clear line for our named errors (a missing or
    read-only database), the traceback only for a bug; never the request body."""
    kind = body.get("type") or body.get("command") or "request"
    if isinstance(error, PapersError):
        log.error("%s failed: %s", kind, error)
    else:
        log.error("%s failed", kind, exc_info=error)
    return BoltResponse(status=500, body="")


def register(app: App) -> None:
    """Register every listener on the app."""
    commands.register(app)
    actions.register(app)
    events.register(app)
    app.error(on_error)
