"""Build the Bolt app from config, and serve it over HTTP or Socket Mode."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import resource
import threading
import urllib.parse
import weakref
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore
from slack_sdk.signature import SignatureVerifier
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import WSGITask

from bot.context import Deps, Lookup, deps_middleware
from bot.installs import one_workspace_only
from bot.listeners import register
from storage import connect, replays, teams
from storage.config import Config
from storage.errors import ConfigError, PapersError
from storage.installations import EncryptedInstallationStore

log = logging.getLogger(__name__)
# Slack's requests are a few KB; App Home actions carry the view, still far below this.
MAX_BODY_BYTES = 256 * 1024
LISTENER_THREADS = 64
# The HTTP front (waitress): an event loop holds idle and half-open connections without a
# thread each, so thousands of slow clients cannot starve the request threads; see
# bench/slowloris.py and the README's Reliability section for the measurements.
SERVER_THREADS = 16
MAX_CONNECTIONS = 12_000  # capped by the open-file limit at start-up
IDLE_TIMEOUT_SECONDS = 30  # a connection that sends nothing for this long is closed
MAX_HEADER_BYTES = 16 * 1024
# waitress reads (and so drains) a body up to this before the guard answers 413 past
# MAX_BODY_BYTES; a client sending more gets the connection closed on it.
MAX_READ_BYTES = 8 * 1024 * 1024
# The scopes of manifest.yaml (tests/bot/test_manifest.py holds them equal). The history
# scopes let the worker find a digest it posted just before a crash instead of posting it
# twice.
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


class _TokenFromClient(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that the token of the client we give it
    wins: at every start, for an admin who set the token exactly as told. It is the same
    token (Config read it from there), so the warning says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


logging.getLogger("slack_bolt.App").addFilter(_TokenFromClient())


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
    """The Bolt app, listeners registered, deps in every context (`lookup` fetches papers of
    pasted links that the store lacks). Signatures are checked by `guard` in front of it
    (make_http_server), which also repairs what Bolt would misparse."""
    if not config.slack_signing_secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set")
    connect(config.db_path).close()  # created 0600 and migrated before anything else opens it
    # Bolt's own check is off: `guard` verifies every POST before Bolt sees it, and Bolt's
    # check would log the whole body of a refused request.
    common = {"request_verification_enabled": False, "listener_executor": _executor()}
    config.check_slack_credentials()
    if config.oauth:
        store = EncryptedInstallationStore.from_config(config)
        store.check_key()
        deps = Deps(config, store, lookup)
        app = App(
            signing_secret=config.slack_signing_secret,
            client=web_client(config),
            oauth_settings=OAuthSettings(
                client_id=config.slack_client_id,
                client_secret=config.slack_client_secret,
                scopes=SCOPES,
                installation_store=store,
                state_store=SQLite3OAuthStateStore(database=config.db_path, expiration_seconds=600),
                callback_options=CallbackOptions(
                    success=_on_installed(deps), failure=_on_install_failed
                ),
            ),
            user_facing_authorize_error_message=NOT_INSTALLED_HERE,
            **common,
        )
    else:
        app = App(
            signing_secret=config.slack_signing_secret,
            client=web_client(config, config.slack_bot_token),
            # auth.test runs on the first request instead of at import, so a slow Slack
            # never blocks start-up.
            token_verification_enabled=False,
            **common,
        )
        deps = Deps(config, app.installation_store, lookup)
        app.use(one_workspace_only)
    app.use(deps_middleware(deps))
    register(app)
    _DEPS[app] = deps
    return app


PER_WORKSPACE = (
    "papers is installed in each workspace that uses it, not across an Enterprise Grid organisation"
)
ORG_WIDE_PAGE = (
    f"<html><body><h2>papers was not installed</h2><p>{PER_WORKSPACE}: nothing was stored."
    " Remove the organisation-wide install in Slack, then install papers from each"
    " workspace.</p></body></html>"
)
# What a member is told when their workspace has no installation of its own (Bolt answers
# a command it cannot authorize with it): never installed here, lost (a database restored
# from before the install), or an organisation-wide install, refused.
NOT_INSTALLED_HERE = (
    ":warning: papers has no installation for this workspace. Ask your Slack admin to install"
    " it from this workspace (on Enterprise Grid: in each workspace that uses it, not across"
    " the organisation)."
)


def _on_installed(deps: Deps):
    """After an OAuth install is stored: a workspace that had uninstalled the app (or revoked
    its token) is served again, and the subscriptions that stopped with it resume; then
    Bolt's own success page."""

    def success(args: SuccessArgs) -> BoltResponse:
        installed = args.installation
        if installed.is_enterprise_install:
            # The worker finds a workspace's token by workspace: an organisation-wide token
            # would answer commands while every digest paused for want of a token.
            deps.installation_store.delete_all(enterprise_id=installed.enterprise_id, team_id=None)
            log.warning("refused an organisation-wide install (%s)", installed.enterprise_id)
            return BoltResponse(
                status=200, body=ORG_WIDE_PAGE, headers={"Content-Type": "text/html; charset=utf-8"}
            )
        team_id = installed.team_id
        if team_id:
            resumed = teams.reactivate(deps.db, team_id, datetime.now(UTC), deps.config.grace)
            if resumed:
                log.info(
                    "team %s installed the app again: %d subscriptions resumed", team_id, resumed
                )
        return args.default.success(args)

    return success


def _on_install_failed(args: FailureArgs) -> BoltResponse:
    """Bolt's own failure page."""
    return args.default.failure(args)


# The deps of each built app, for the HTTP front (its signing secret and database).
_DEPS: weakref.WeakKeyDictionary[App, Deps] = weakref.WeakKeyDictionary()


def _refuse(start_response, status: str, headers: list | None = None):
    start_response(status, [("Content-Type", "text/plain"), *(headers or [])])
    return [status.encode()]


# Where Slack puts objects: a request whose field holds anything else (a number, a list)
# is not from Slack, and Bolt would fail on it with a 500.
_OBJECTS = ("team", "enterprise", "channel", "container", "view", "message", "event", "state")
_OBJECT_OR_TEXT = ("user", "team", "channel", "enterprise")


def _shape_problem(data) -> str | None:
    """Why a parsed body cannot be one Slack sends, or None."""
    if not isinstance(data, dict):
        return "body is not a JSON object"
    for key in _OBJECTS + _OBJECT_OR_TEXT:
        if key not in data or data[key] is None:
            continue
        allowed = (dict, str) if key in _OBJECT_OR_TEXT else (dict,)
        if not isinstance(data[key], allowed):
            return f"`{key}` has the wrong type"
    if "type" in data and not isinstance(data["type"], str):
        return "`type` is not text"
    if "actions" in data and not (
        isinstance(data["actions"], list) and all(isinstance(a, dict) for a in data["actions"])
    ):
        return "`actions` is not a list of objects"
    if isinstance(data.get("user"), dict) and not isinstance(data["user"].get("id", ""), str):
        return "`user.id` is not text"
    return None


def parse(body: bytes, content_type: str) -> dict | str:
    """The dict Bolt should see for a raw body, or why it can not be a Slack request.

    Bolt 1.30's parse_body treats any form body containing the substring "payload" as an
    interactivity payload (so `/papers adversarial payload attacks` parsed as empty), and
    json-parses any body starting with "{"; so we parse here and hand Bolt JSON."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    try:
        if "json" in content_type:
            data = json.loads(text)
        else:
            if text.lstrip().startswith(("{", "[")):
                return "form body is JSON"
            form = urllib.parse.parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
            if "payload" in form:
                if len(form) != 1 or len(form["payload"]) != 1:
                    return "payload must be the only field"
                data = json.loads(form["payload"][0])
            else:
                data = {key: values[-1] for key, values in form.items()}
    except ValueError:
        return "body is not valid JSON or form data"
    return _shape_problem(data) or data


def _replay_keys(environ: dict, data: dict) -> list[str]:
    keys = ["sig:" + environ.get("HTTP_X_SLACK_SIGNATURE", "")]
    if data.get("type") == "event_callback" and isinstance(data.get("event_id"), str):
        keys.append("event:" + data["event_id"])  # a Slack retry is signed anew
    return keys


# What a GET of the request URL (or of /) answers: the app is up, and Slack POSTs there.
UP = ("/", "/slack/events")
UP_TEXT = b"papers is running: Slack sends its signed requests here as POSTs to /slack/events.\n"


def guard(wsgi_app, signing_secret: str, deps: Deps | None = None, max_bytes: int = MAX_BODY_BYTES):
    """Before Bolt: refuse oversized (413), unsigned or stale (401) and malformed (400)
    requests, acknowledge replays and retried events without acting, and hand Bolt a body
    it parses correctly. GETs (the OAuth install pages) pass through."""
    verifier = SignatureVerifier(signing_secret)

    def guarded(environ, start_response):
        if environ.get("SERVER_PROTOCOL") not in ("HTTP/1.0", "HTTP/1.1"):
            # waitress answers an unknown version such as HTTP/9.9 as if it were 1.0
            return _refuse(start_response, "400 Bad Request")
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD") and environ.get("PATH_INFO") in UP:
            # An admin opening the request URL in a browser, or a platform's health check:
            # say the app is up (Bolt answered "Not Found", as if the URL were wrong).
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
            return [UP_TEXT]
        if environ.get("REQUEST_METHOD") != "POST":
            return wsgi_app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _refuse(start_response, "400 Bad Request")
        if length > max_bytes:
            return _refuse(start_response, "413 Payload Too Large")
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        stamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "").strip()
        signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
        if stamp and not (stamp.isascii() and stamp.isdigit() and len(stamp) < 16):
            log.info("refused a request: timestamp is not a number")
            return _refuse(start_response, "400 Bad Request")
        if not stamp or not verifier.is_valid(body, stamp, signature):
            log.info("refused a request: missing, wrong or stale signature")
            return _refuse(start_response, "401 Unauthorized")
        data = parse(body, environ.get("CONTENT_TYPE", ""))
        if isinstance(data, str):
            log.info("refused a signed request: %s", data)
            return _refuse(start_response, "400 Bad Request")
        if deps is not None and not _first_time(deps, environ, data):
            log.info("acknowledged a replayed or retried request without acting on it")
            start_response("200 OK", [("Content-Length", "0"), ("X-Slack-No-Retry", "1")])
            return [b""]
        clean = json.dumps(data).encode()
        environ.update(
            {
                "wsgi.input": io.BytesIO(clean),
                "CONTENT_LENGTH": str(len(clean)),
                "CONTENT_TYPE": "application/json",
            }
        )
        if deps is None:
            return wsgi_app(environ, start_response)
        with deps.acks.acking():  # replies wait for the acks in flight
            return wsgi_app(environ, start_response)

    return guarded


def _first_time(deps: Deps, environ: dict, data: dict) -> bool:
    try:
        return replays.first_time(deps.db, _replay_keys(environ, data), datetime.now(UTC))
    except PapersError as exc:  # the listener answers with the same problem, in words
        log.error("%s", exc)
        return True


def wsgi_app(app: App):
    """The WSGI application: the guard in front of Bolt's WSGI adapter."""
    deps = _DEPS.get(app)
    secret = deps.config.slack_signing_secret if deps else ""
    return guard(SlackRequestHandler(app), secret, deps)


def _raise_file_limit() -> int:
    """Raise the soft open-file limit to the hard one; returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft


class _Task(WSGITask):
    def get_environment(self) -> dict:
        environ = super().get_environment()
        # waitress serves an unknown version (HTTP/9.9) as 1.0; the guard refuses it.
        environ["SERVER_PROTOCOL"] = f"HTTP/{self.request.version}"
        return environ


class _Channel(HTTPChannel):
    task_class = _Task


ACCEPT_BURST = 512


def _accept_burst(server) -> None:
    """waitress accepts one connection per pass of its event loop, and each pass polls every
    open connection: thousands of half-open connections arriving together would then queue
    a real request behind them for many seconds. Accept up to ACCEPT_BURST per pass."""

    def handle_accept() -> None:
        for _ in range(ACCEPT_BURST):
            if len(server._map) >= server.adj.connection_limit:
                return
            try:
                accepted = server.accept()
                if accepted is None:
                    return
                conn, addr = accepted
                server.set_socket_options(conn)
            except OSError:
                return  # a client that reset before we accepted it
            server.channel_class(server, conn, server.fix_addr(addr), server.adj, map=server._map)

    server.handle_accept = handle_accept


class HttpServer:
    """waitress serving the app, with serve_forever/shutdown like the standard library's
    servers (so tests and `make run` start it in a thread on an ephemeral port)."""

    def __init__(self, application, host: str, port: int) -> None:
        limit = min(MAX_CONNECTIONS, max(100, _raise_file_limit() - 200))
        self._server = create_server(
            application,
            host=host,
            port=port,
            threads=SERVER_THREADS,
            connection_limit=limit,
            channel_timeout=IDLE_TIMEOUT_SECONDS,
            cleanup_interval=5,
            asyncore_use_poll=True,  # select() stops at 1,024 descriptors
            backlog=2048,
            max_request_header_size=MAX_HEADER_BYTES,
            max_request_body_size=MAX_READ_BYTES,
            expose_tracebacks=False,
            ident="papers",
        )
        self._server.channel_class = _Channel
        _accept_burst(self._server)
        self._stop = threading.Event()
        self._stopped = threading.Event()

    @property
    def server_port(self) -> int:
        """The port it listens on (useful with port 0)."""
        return int(self._server.effective_port)

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Serve until shutdown() is called."""
        self._stopped.clear()
        try:
            while not self._stop.is_set():
                wasyncore.loop(timeout=poll_interval, map=self._server._map, use_poll=True, count=1)
        finally:
            self._server.close()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop serve_forever and wait for it to return."""
        self._stop.set()
        self._stopped.wait(timeout=10)

    def server_close(self) -> None:
        """Close the listening socket (already closed by shutdown())."""
        if not self._stopped.is_set():
            self._server.close()


def make_http_server(app: App, host: str, port: int) -> HttpServer:
    """The production HTTP server for the app at /slack/events (and OAuth at /slack/install)."""
    return HttpServer(wsgi_app(app), host, port)


def install_pages(app: App, config: Config, host: str) -> HttpServer | None:
    """In Socket Mode with OAuth, the install page and OAuth redirect served over HTTP on
    PORT (running in a thread): a workspace installs in a browser, which Socket Mode's
    connection never reaches. None in any other mode."""
    if not (config.slack_app_token and config.oauth):
        return None
    server = make_http_server(app, host, config.port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log.info("install page at http://%s:%d/slack/install", host, server.server_port)
    return server


def socket_mode(app: App, config: Config):
    """The app connected to Slack in Socket Mode (a SocketModeHandler); an app-level token
    Slack refuses is a ConfigError saying so, never a traceback."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, config.slack_app_token)
    try:
        handler.connect()
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response else None
        raise ConfigError(
            f"Slack refused SLACK_APP_TOKEN ({error or 'no answer'}): it must be an app-level"
            " token (xapp-…) with the connections:write scope, from your app's Basic"
            " Information page, with Socket Mode turned on."
        ) from None
    return handler


def serve(config: Config, host: str = "0.0.0.0", lookup: Lookup | None = None) -> None:
    """Run the bot until interrupted: Socket Mode with SLACK_APP_TOKEN, else HTTP."""
    app = build_app(config, lookup)
    if config.slack_app_token:
        pages = install_pages(app, config, host)
        try:
            handler = socket_mode(app, config)
            log.info("papers bot connected to Slack in Socket Mode")
            try:
                threading.Event().wait()  # until Ctrl-C, as SocketModeHandler.start()
            finally:
                handler.close()
        finally:
            if pages:
                pages.shutdown()
        return
    server = make_http_server(app, host, config.port)
    log.info("papers bot listening on http://%s:%d/slack/events", host, server.server_port)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
