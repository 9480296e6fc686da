"""link_shared: a paper link was pasted or posted; answer with one chat.unfurl.

Bolt acks events before running the listener (process_before_response is off), so the
arXiv lookup of an unknown paper happens after Slack has its 200."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_bolt import BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.context import Deps
from bot.unfurl import build_unfurls

log = logging.getLogger(__name__)


def link_shared(event: dict, client: WebClient, context: BoltContext) -> None:
    """Unfurl the paper links of one message; links that are not papers get no call."""
    deps: Deps = context["deps"]
    unfurls = build_unfurls(deps.db, event.get("links") or [], deps.lookup, datetime.now(UTC))
    if not unfurls:
        return
    # Slack accepts the message (channel + ts) or, from the composer, unfurl_id + source.
    if event.get("unfurl_id") and event.get("source"):
        target = {"unfurl_id": event["unfurl_id"], "source": event["source"]}
    else:
        target = {"channel": event.get("channel"), "ts": event.get("message_ts")}
    try:
        client.chat_unfurl(unfurls=unfurls, **target)
    except SlackApiError as exc:
        log.warning("chat.unfurl failed: %s", exc.response.get("error"))
    except OSError as exc:
        log.warning("chat.unfurl failed: %s", type(exc).__name__)
