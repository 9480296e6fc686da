"""Talking to Slack from the worker: a client per team, posting with a delivery key, and
finding a message that a crashed run may already have delivered."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.error import URLError
from urllib.parse import urlparse

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from storage.config import Config
from storage.installations import EncryptedInstallationStore
from storage.subscriptions import TOKEN_ERRORS

log = logging.getLogger(__name__)
# Errors that will not fix themselves: the subscription is paused with the reason shown in
# /papers list, instead of being retried every minute.
PAUSE_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "account_inactive",
    "invalid_auth",
    "token_revoked",
    "token_expired",
    "user_not_found",
    "cannot_dm_bot",
    "restricted_action",
    "ekm_access_denied",
    "team_access_not_granted",
    "missing_scope",
    "not_authed",
    "user_disabled",
    "user_not_visible",
    # The channel or the DM takes no message from the app (read-only, threads only, the
    # user turned the app's Messages tab off): as for an archived channel.
    "restricted_action_read_only_channel",
    "restricted_action_thread_only_channel",
    "restricted_action_non_threadable_channel",
    "messages_tab_disabled",
}
# Of those, TOKEN_ERRORS (storage.subscriptions) may say the workspace's bot token is dead:
# once auth.test confirms it, and the store holds no newer token, the whole team stops, as
# on an uninstall, and a reinstall resumes it, instead of each subscription failing in turn
# and staying paused after it.

# Errors that refuse the message itself, for what it is (its blocks, its length, its
# arguments): posting the same stored message again is refused again, so it is recorded as
# failed once instead of retried. The subscription stays active: its next message differs.
REFUSED_ERRORS = {
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_blocks_too_long",
    "msg_too_long",
    "no_text",
    "invalid_arguments",
    "invalid_arg_name",
    "invalid_array_arg",
    "invalid_charset",
    "invalid_form_data",
    "invalid_post_type",
    "missing_post_type",
    "invalid_json",
    "json_not_object",
    "invalid_metadata_format",
    "invalid_metadata_schema",
    "metadata_too_large",
    "metadata_must_be_sent_from_app",
    "too_many_attachments",
    "attachment_payload_limit_exceeded",
    "as_user_not_supported",
    "unknown_method",
    "method_deprecated",
    "deprecated_endpoint",
}
# Anything else (internal_error, fatal_error, service_unavailable, request_timeout,
# ratelimited past the client's own retries, a timeout) may pass: retried with backoff.

EVENT_TYPE = "papers_delivery"
# conversations.history pages (Slack recommends at most 200 messages a page) searched for a
# delivery key before a crashed delivery is posted again.
HISTORY_PAGE = 200
HISTORY_PAGES = 25


class _UnsentRetryHandler(ConnectionErrorRetryHandler):
    """Retries a connection error, but a post only when it never reached Slack."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        # urllib wraps a failure to connect or send as URLError; a connection dropped while
        # waiting for the answer (RemoteDisconnected, a reset) may follow a message Slack
        # took: posted again blindly, it showed twice. The ledger retries it instead, after
        # looking for it in the channel (jobs.delivery.send).
        if urlparse(request.url).path.endswith("/chat.postMessage") and not isinstance(
            error, URLError
        ):
            return False
        return super()._can_retry(state=state, request=request, response=response, error=error)


RETRY_HANDLERS = [
    RateLimitErrorRetryHandler(max_retry_count=5),
    ServerErrorRetryHandler(max_retry_count=2),
    _UnsentRetryHandler(max_retry_count=2),
]


def check_token_key(config: Config) -> None:
    """OAuth mode: ConfigError, in one line, when PAPERS_TOKEN_KEY is missing, not a key, or
    not the key the stored tokens were encrypted with: the worker stops at start on it."""
    if config.oauth:
        EncryptedInstallationStore.from_config(config).check_key()


class Clients:
    """team_id → a WebClient with the team's bot token (OAuth store or the single token),
    made once per team and run; `renewed` reads the store again."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._cache: dict[str, WebClient] = {}
        self._store = None
        if config.oauth:  # the bot's own rule: it answers with the same tokens
            # The bot stores each workspace's token encrypted: read it back through the
            # same store (slack_sdk's plain one would hand Slack the ciphertext).
            self._store = EncryptedInstallationStore.from_config(config)
            # Checked at start too, but a bot running with another key may have stored a
            # token since: one row read, so a mismatch is one line per run, not a traceback
            # per delivery.
            self._store.check_key()

    def __call__(self, team_id: str) -> WebClient | None:
        """The team's client, or None when there is no token for it."""
        if team_id not in self._cache:
            client = self._client(self._token(team_id))
            if client is None:
                return None
            self._cache[team_id] = client
        return self._cache[team_id]

    def renewed(self, team_id: str, used: WebClient) -> WebClient | None:
        """A client with the token the store holds for the team now, when that is not the
        token `used` sent (the workspace installed the app again during this run); else None."""
        token = self._token(team_id)
        if not token or token == used.token:
            return None
        client = self._client(token)
        if client is not None:
            self._cache[team_id] = client
        return client

    def _token(self, team_id: str) -> str | None:
        if self._store is None:
            return self._config.slack_bot_token
        bot = self._store.find_team_bot(team_id)
        return bot.bot_token if bot else None

    def _client(self, token: str | None) -> WebClient | None:
        if not token:
            return None
        client = WebClient(
            token=token,
            timeout=self._config.slack_timeout_seconds,
            retry_handlers=list(RETRY_HANDLERS),
        )
        if self._config.slack_api_url:
            client.base_url = self._config.slack_api_url
        return client


def client_factory(config: Config) -> Clients:
    """The clients of one run (or one alert job), by team."""
    return Clients(config)


def token_refused(client: WebClient) -> bool | None:
    """Whether Slack refuses the client's token, asked with auth.test (one Tier 4 call):
    True (dead), False (it works), None (the answer never came: a timeout, a 5xx)."""
    try:
        client.auth_test()
    except SlackApiError as exc:
        return True if error_of(exc) in TOKEN_ERRORS else None
    except Exception as exc:  # connection errors and timeouts: not an answer about the token
        log.warning("auth.test failed: %s", type(exc).__name__)
        return None
    return False


def error_of(exc: SlackApiError) -> str:
    """Slack's error code from an API exception."""
    return str(exc.response.get("error") or "unknown_error")


def open_channel(client: WebClient, kind: str, target: str) -> str:
    """The channel to post in: the channel itself, or the DM with the user."""
    if kind == "channel":
        return target
    return client.conversations_open(users=target)["channel"]["id"]


def post(client: WebClient, channel: str, message: dict, key: str) -> str:
    """Post a message carrying its delivery key in metadata; returns the message ts."""
    response = client.chat_postMessage(
        channel=channel,
        text=message["text"],
        blocks=message["blocks"],
        unfurl_links=False,
        unfurl_media=False,
        metadata={"event_type": EVENT_TYPE, "event_payload": {"key": key}},
    )
    return str(response["ts"])


def find_delivered(client: WebClient, channel: str, key: str, since: datetime) -> str | None:
    """The ts of a message already posted with this delivery key since `since`, if any:
    the channel's history is read page by page (newest first) back to `since`."""
    oldest = (since - timedelta(minutes=10)).timestamp()
    cursor = None
    for _ in range(HISTORY_PAGES):
        try:
            response = client.conversations_history(
                channel=channel,
                oldest=f"{oldest:.6f}",
                include_all_metadata=True,
                limit=HISTORY_PAGE,
                cursor=cursor,
            )
        except SlackApiError as exc:
            log.warning("could not check history of %s: %s", channel, error_of(exc))
            raise
        for message in response.get("messages", []):
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == EVENT_TYPE
                and metadata.get("event_payload", {}).get("key") == key
            ):
                return str(message["ts"])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not response.get("has_more") or not cursor:
            return None
    # Not found in HISTORY_PAGES pages: posting again is the lesser harm than never.
    log.warning("history of %s since %s too long to search; key %s not found", channel, since, key)
    return None
