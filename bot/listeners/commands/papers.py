"""`/papers ...`: ack at once, then reply through response_url."""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, datetime

from slack_bolt import Ack, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import views
from bot.admins import is_workspace_admin
from bot.commands import Invocation, Lookups, handle
from bot.context import Deps
from bot.installs import serve_again_if_installed
from bot.interaction import SOMETHING_WRONG, respond_checked
from bot.text import as_typed
from storage.db import write_refused
from storage.errors import DatabaseError

log = logging.getLogger(__name__)
DATABASE_DOWN = (
    ":warning: I cannot reach my database right now, so nothing was changed. "
    "Please tell whoever runs papers; the reason is in its log."
)


def lookups(client: WebClient) -> Lookups:
    """What a command may need to ask Slack, with failures turned into 'unknown'."""

    def user_tz(user_id: str) -> str | None:
        try:
            return client.users_info(user=user_id)["user"].get("tz")
        except SlackApiError as exc:
            log.warning("users.info failed: %s", exc.response.get("error"))
        except OSError as exc:  # Slack unreachable: subscribe in UTC rather than fail
            log.warning("users.info failed: %s", type(exc).__name__)
        return None

    def bot_in_channel(channel_id: str) -> bool:
        try:
            return bool(client.conversations_info(channel=channel_id)["channel"].get("is_member"))
        except SlackApiError as exc:
            log.info("conversations.info failed: %s", exc.response.get("error"))
        except OSError as exc:
            log.warning("conversations.info failed: %s", type(exc).__name__)
        return False

    return Lookups(
        user_tz=user_tz,
        bot_in_channel=bot_in_channel,
        is_admin=lambda user_id: is_workspace_admin(client, user_id),
    )


def papers_command(
    ack: Ack, command: dict, respond: Respond, client: WebClient, context: BoltContext
):
    """Answer /papers: search, trending, subscribe, list, unsubscribe, help."""
    ack()
    deps: Deps = context["deps"]
    inv = Invocation(
        team_id=command.get("team_id", ""),
        user_id=command.get("user_id", ""),
        channel_id=command.get("channel_id", ""),
        channel_name=command.get("channel_name", ""),
        text=as_typed(command.get("text", "")),
    )
    wait = deps.limiter.wait_time(f"{inv.team_id}:{inv.user_id}", time.monotonic())
    if wait > 0:
        respond(
            **views.text_message(
                f"You are sending commands faster than {deps.config.commands_per_minute} a minute; "
                f"try again in {math.ceil(wait)} s."
            )
        )
        return
    # Answered on the few reply threads, so a burst of searches never delays the next acks.
    deps.replies.submit(reply, deps, inv, respond, client, time.monotonic())


def reply(deps: Deps, inv: Invocation, respond: Respond, client: WebClient, queued: float) -> None:
    """Run the command and post its answer through response_url; never raises."""
    deps.acks.wait(queued)  # a burst's acks first: each must reach Slack within 3 s
    try:
        serve_again_if_installed(deps, client, inv.team_id)
        answer = handle(deps.db, deps.config, inv, lookups(client), datetime.now(UTC))
    except DatabaseError as exc:
        log.error("/papers could not use the database: %s", exc)
        answer = views.text_message(DATABASE_DOWN)
    except Exception as exc:
        if refused := write_refused(exc):  # a lock or a full disk: no bug of ours
            log.error("/papers could not write to the database: %s (%s)", refused, exc)
            answer = views.text_message(f":warning: {refused}")
        else:
            log.exception("/papers failed")
            answer = views.text_message(SOMETHING_WRONG)
    try:
        respond_checked(respond, "/papers answer", response_type="ephemeral", **answer)
    except Exception as exc:  # Slack unreachable or the response_url expired
        # The type only: the error may quote the response_url, a credential for 30 minutes.
        log.error("/papers could not post its answer: %s", type(exc).__name__)
