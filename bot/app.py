"""Build the Bolt app from config, and serve it over HTTP or Socket Mode."""

from __future__ import annotations

import io
import json
import logging
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore

from bot.context import Deps, Lookup, deps_middleware
from bot.listeners import register
from storage.config import Config
from storage.errors import ConfigError

log = logging.getLogger(__name__)
# Slack's requests are a few KB; App Home actions carry the view, still far below this.
MAX_BODY_BYTES = 256 * 1024
DRAIN_BYTES = 8 * 1024 * 1024
LISTENER_THREADS = 64
# Keep in step with manifest.yaml. The history scopes let the worker find a digest it
# posted just before a crash instead of posting it twice.
SCOPES = [
    "commands",
    "chat:write",
    "im:write",
    "im:history",
    "users:read",
    "channels:read",
    "channels:history",
    "groups:read",
    "groups:history",
    "links:read",  # link_shared for arxiv.org and huggingface.co links
    "links:write",  # chat.unfurl
]


def web_client(config: Config, token: str | None = None) -> WebClient:
    """A WebClient for SLACK_API_URL that waits out 429s (Retry-After) a few times."""
    client = WebClient(token=token, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=3)])
    if config.slack_api_url:
        client.base_url = config.slack_api_url
    return client


def _executor() -> ThreadPoolExecutor:
    # Bolt runs each listener (and so its ack) on this pool; its default of 5 threads lets
    # a burst of commands queue past Slack's 3-second ack deadline while earlier ones wait
    # for the database, so the pool is sized for bursts.
    return ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener")


def build_app(config: Config, lookup: Lookup | None = None) -> App:
    """The Bolt app: signature checks on, listeners registered, deps in every context
    (`lookup` fetches papers of pasted links that the store lacks)."""
    if not config.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set")
    if config.slack_client_id and config.slack_client_secret:
        app = App(
            signing_secret=config.slack_signing_secret,
            client=web_client(config),
            oauth_settings=OAuthSettings(
                client_id=config.slack_client_id,
                client_secret=config.slack_client_secret,
                scopes=SCOPES,
                installation_store=SQLite3InstallationStore(
                    database=config.db_path, client_id=config.slack_client_id
                ),
                state_store=SQLite3OAuthStateStore(database=config.db_path, expiration_seconds=600),
            ),
            listener_executor=_executor(),
        )
    else:
        if not config.slack_bot_token:
            raise ConfigError(
                "SLACK_BOT_TOKEN is not set (or set SLACK_CLIENT_ID/SECRET for OAuth)"
            )
        app = App(
            signing_secret=config.slack_signing_secret,
            client=web_client(config, config.slack_bot_token),
            # auth.test runs on the first request instead of at import, so a slow Slack
            # never blocks start-up.
            token_verification_enabled=False,
            listener_executor=_executor(),
        )
    app.use(deps_middleware(Deps(config, app.installation_store, lookup)))
    register(app)
    return app


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    # socketserver's default backlog of 5 resets connections in a burst of commands.
    request_queue_size = 256


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002
        # One line per request, never the body (it can hold user text).
        log.debug("%s %s", self.command, self.path.split("?")[0])


def _malformed(environ: dict, body: bytes) -> str | None:
    """Why a request can not be a Slack request at all, or None. Bolt would answer these
    with a 500 (it parses before it asks), so they are refused here with a 400."""
    stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    if stamp is not None and not (stamp.strip().isascii() and stamp.strip().isdigit()):
        return "timestamp is not a number"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    try:
        if "json" in environ.get("CONTENT_TYPE", ""):
            json.loads(text or "{}")
        elif "payload" in (form := urllib.parse.parse_qs(text)):
            json.loads(form["payload"][0])
    except ValueError:
        return "body is not valid JSON"
    return None


def limit_body(wsgi_app, max_bytes: int = MAX_BODY_BYTES):
    """Refuse oversized or malformed requests with 413/400 before Bolt reads them."""

    def refuse(start_response, status: str):
        start_response(status, [("Content-Type", "text/plain")])
        return [status.encode()]

    def guarded(environ, start_response):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return refuse(start_response, "400 Bad Request")
        if length > max_bytes:
            # Drain a moderately large body so the client reads the 413 instead of a reset.
            stream, left = environ["wsgi.input"], min(length, DRAIN_BYTES)
            while left > 0 and (chunk := stream.read(min(left, 65536))):
                left -= len(chunk)
            return refuse(start_response, "413 Payload Too Large")
        if environ.get("REQUEST_METHOD") == "POST":
            body = environ["wsgi.input"].read(length) if length > 0 else b""
            environ["wsgi.input"] = io.BytesIO(body)
            problem = _malformed(environ, body)
            if problem:
                log.info("refused a request: %s", problem)
                return refuse(start_response, "400 Bad Request")
        return wsgi_app(environ, start_response)

    return guarded


def make_http_server(app: App, host: str, port: int) -> WSGIServer:
    """A threaded WSGI server for the app at /slack/events (and OAuth at /slack/install)."""
    handler = limit_body(SlackRequestHandler(app))
    return make_server(
        host, port, handler, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )


def serve(config: Config, host: str = "0.0.0.0", lookup: Lookup | None = None) -> None:
    """Run the bot until interrupted: Socket Mode with SLACK_APP_TOKEN, else HTTP."""
    app = build_app(config, lookup)
    if config.slack_app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        SocketModeHandler(app, config.slack_app_token).start()
        return
    server = make_http_server(app, host, config.port)
    log.info("papers bot listening on http://%s:%d/slack/events", host, server.server_port)
    server.serve_forever()
