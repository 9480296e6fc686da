"""A local stand-in for Slack's servers: the Web API methods the app calls, response_url,
Block Kit limit checks, per-channel rate limits with 429 + Retry-After, and a page where a
person types a slash command and clicks the buttons. Used by the tests and by `make run`.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from slack_sdk.signature import SignatureVerifier

from slackstub.limits import PRIVATE_METADATA, validate_blocks

log = logging.getLogger(__name__)
PAGE = Path(__file__).with_name("page.html")
RESPONSE_URL_MAX_POSTS = 5


POLL_INTERVAL = 0.05


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # like Slack, take a burst of connections without resets
    disconnects = 0  # clients that went away mid-request (a closed browser tab)

    def handle_error(self, request, client_address) -> None:
        """A client that hangs up is normal (a reloaded page): count it, print no traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            self.disconnects += 1
            return
        super().handle_error(request, client_address)


@dataclass
class Channel:
    """A channel the stand-in knows: whether the bot is in it, and a forced error."""

    id: str
    name: str
    is_member: bool = True
    error: str | None = None  # e.g. "channel_not_found", "is_archived"


@dataclass
class State:
    """Everything the stand-in has seen and been told, shared by its request threads."""

    tokens: dict[str, str] = field(default_factory=dict)  # token -> team id
    # Tokens whose bot user (or workspace) is deactivated: every call gets account_inactive.
    inactive: set[str] = field(default_factory=set)
    users: dict[str, dict] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    messages: list[dict] = field(default_factory=list)
    responses: dict[str, list[dict]] = field(default_factory=dict)  # response_url id -> posts
    # Ephemeral messages ("only visible to you"), and what each response_url answers to:
    # its channel and user, and the message a button was on (replace/delete_original).
    ephemerals: list[dict] = field(default_factory=list)
    response_urls: dict[str, dict] = field(default_factory=dict)
    views: dict[str, dict] = field(default_factory=dict)
    # Per member: why the app did not take their last App Home visit or click there.
    home_errors: dict[str, str] = field(default_factory=dict)
    # chat.unfurl: "channel:ts" (or the unfurl_id) → {url: unfurl}, as Slack keeps them.
    unfurls: dict[str, dict[str, dict]] = field(default_factory=dict)
    calls: list[tuple[str, dict]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    fail_next: dict[str, list[str]] = field(default_factory=dict)  # method -> Slack errors
    http_fail_next: dict[str, list[int]] = field(default_factory=dict)  # method -> HTTP codes
    force_429: int = 0
    throttled: int = 0  # 429s answered
    retry_after: int = 1
    post_delay: float = 0.0  # seconds chat.postMessage waits after storing, before answering
    # Past this many stored messages, chat.postMessage stores but does not answer until
    # release_posts(): a client killed meanwhile dies between post and confirm, every time.
    hold_after: int | None = None
    # The next this many chat.postMessage calls are stored, then the connection is closed
    # with no answer: the network dropped Slack's reply to a message it took.
    hang_up_after_post: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    in_flight: int = 0  # Web API requests received and not yet answered
    rate_per_second: float = 1.0
    burst: float = 3.0
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    # The workspace an OAuth install is for: None, a new one each time; a team id, that
    # workspace installing again (as after an uninstall).
    install_team: str | None = None
    # Enterprise Grid: the organisation of the workspace installing (None: no Grid), and
    # whether the install is organisation-wide (no workspace of its own).
    install_enterprise: str | None = None
    org_install: bool = False
    # views.publish: the next call waits for this event before it is answered (a slow publish
    # that a later click's publish overtakes); `publish_held` is set while it waits.
    hold_publish: threading.Event | None = None
    publish_held: bool = False


class SlackStandIn:
    """Run with `start()`; point the app's SLACK_API_URL at `api_url`."""

    def __init__(
        self,
        token: str = "xoxb-local",
        team_id: str = "T0LOCAL",
        signing_secret: str = "local-signing-secret",
        app_url: str | None = None,
        port: int = 0,
        default_tz: str = "Europe/Berlin",
    ) -> None:
        self.state = State(tokens={token: team_id})
        self.token, self.team_id = token, team_id
        self.signing_secret = signing_secret
        self.app_url = app_url
        self.default_tz = default_tz
        self._last_ts = 0.0
        self.add_channel("C0GENERAL", "general")
        self.add_user("U0LOCAL", "you")
        self.httpd = _Server(("127.0.0.1", port), _handler(self))
        self._thread: threading.Thread | None = None

    # --- set-up used by tests and the demo -------------------------------------------------
    @property
    def url(self) -> str:
        """The stand-in's base URL."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def api_url(self) -> str:
        """The Web API base URL, for the app's WebClient(base_url=...)."""
        return self.url + "/api/"

    def start(self) -> SlackStandIn:
        """Serve in a background thread."""
        # A short poll interval: shutdown() waits up to one interval (0.5 s by default).
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(POLL_INTERVAL,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def hold_answer(self) -> None:
        """Stored but not yet answered: the window in which a crashed client loses the ts."""
        if self.state.post_delay:
            time.sleep(self.state.post_delay)
        hold = self.state.hold_after
        if hold is not None and len(self.state.messages) > hold:
            self.state.released.wait(timeout=120)

    def release_posts(self) -> None:
        """Answer the held chat.postMessage calls and hold no more."""
        self.state.hold_after = None
        self.state.released.set()

    def add_user(
        self,
        user_id: str,
        name: str,
        tz: str | None = None,
        deleted: bool = False,
        is_admin: bool = False,
    ):
        """Make a user known, with a Slack timezone (and workspace admin rights)."""
        with self.state.lock:
            self.state.users[user_id] = {
                "id": user_id,
                "name": name,
                "tz": tz or self.default_tz,
                "deleted": deleted,
                "is_admin": is_admin,
                "is_owner": False,
            }

    def add_channel(
        self, channel_id: str, name: str, is_member: bool = True, error: str | None = None
    ):
        """Make a channel known; `error` makes every post to it fail with that error."""
        with self.state.lock:
            self.state.channels[channel_id] = Channel(channel_id, name, is_member, error)

    def messages(self, channel: str | None = None) -> list[dict]:
        """Messages posted (chat.postMessage) so far, optionally to one channel."""
        with self.state.lock:
            return [
                dict(m) for m in self.state.messages if channel is None or m["channel"] == channel
            ]

    def responses(self, response_id: str) -> list[dict]:
        """What the app posted to one response_url."""
        with self.state.lock:
            return list(self.state.responses.get(response_id, []))

    # --- acting as Slack towards the app --------------------------------------------------
    def new_response_url(
        self, channel: str = "C0GENERAL", user: str = "U0LOCAL", origin: dict | None = None
    ) -> tuple[str, str]:
        """A fresh response_url and its id; `origin` is the message a button was on."""
        response_id = uuid.uuid4().hex
        with self.state.lock:
            self.state.responses[response_id] = []
            self.state.response_urls[response_id] = {
                "channel": channel,
                "user": user,
                "origin": origin,
            }
        return response_id, f"{self.url}/response/{response_id}"

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict]:
        """Ephemeral messages shown so far (replaced ones as they are now)."""
        with self.state.lock:
            return [
                dict(m)
                for m in self.state.ephemerals
                if (channel is None or m["channel"] == channel)
                and (user is None or m["user"] == user)
            ]

    def _next_ts(self) -> str:
        # Like Slack's: seconds with microseconds, unique and increasing in a channel.
        with self.state.lock:
            self._last_ts = max(time.time(), self._last_ts + 1e-6)
            return f"{self._last_ts:.6f}"

    def sign(self, body: str, timestamp: int | None = None) -> dict[str, str]:
        """Headers Slack would send with this body."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=ts, body=body
        )
        return {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or "",
            "Content-Type": "application/x-www-form-urlencoded",
        }

    def send(
        self, body: str, headers: dict[str, str] | None = None, content_type: str | None = None
    ):
        """POST a body to the app, signed unless headers are given; returns (status, text)."""
        if not self.app_url:
            raise RuntimeError("the stand-in has no app_url to send to")
        headers = dict(headers if headers is not None else self.sign(body))
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(
            self.app_url, data=body.encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except (urllib.error.URLError, OSError) as exc:
            # The app is not running, or too slow: status 0 and Slack's error name.
            reason = getattr(exc, "reason", exc)
            slow = isinstance(exc, TimeoutError) or isinstance(reason, TimeoutError)
            return 0, "operation_timeout" if slow else "dispatch_failed"

    def command(
        self,
        text: str,
        user: str = "U0LOCAL",
        channel: str = "C0GENERAL",
        team: str | None = None,
        command: str = "/papers",
        response_url: str | None = None,
    ) -> dict:
        """Send a slash command as Slack does; returns status, body and the response_url id.
        `response_url` replaces the stand-in's own (one that nobody answers, say)."""
        response_id, own_url = self.new_response_url(channel, user)
        response_url = response_url or own_url
        channel_name = self.state.channels[channel].name if channel in self.state.channels else "x"
        form = {
            "token": "deprecated",
            "team_id": team or self.team_id,
            "team_domain": "local",
            "channel_id": channel,
            "channel_name": channel_name,
            "user_id": user,
            "user_name": self.state.users.get(user, {}).get("name", user),
            "command": command,
            # Slack sends a command's &, < and > as entities, whatever the user typed.
            "text": text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
            "api_app_id": "A0LOCAL",
            "response_url": response_url,
            "trigger_id": uuid.uuid4().hex,
        }
        status, body = self.send(urllib.parse.urlencode(form))
        if status == 200 and body.strip().startswith("{"):
            self._record_response(response_id, json.loads(body), via="ack")
        elif status != 200:
            # As Slack shows it, and where the stand-in sent it (is the bot running there?).
            failed = self._failure(command, status, body)
            self._record_response(response_id, {"text": failed}, via="error")
        return {"status": status, "body": body, "response_id": response_id}

    def _failure(self, what: str, status: int, body: str) -> str:
        """What Slack shows when the app did not take a request: its error name (the app
        not reached, too slow, or an HTTP error: a signing secret not the stand-in's gets
        401), and where the stand-in sent it."""
        if status == 0:
            error = body
        else:
            kind = "http_client_error" if 400 <= status < 500 else "http_service_error"
            error = f"{kind}, HTTP {status}"
        return f'{what} failed with the error "{error}" (sent to {self.app_url})'

    def click(
        self,
        message: dict,
        action_id: str,
        user: str = "U0LOCAL",
        channel: str = "C0GENERAL",
        team: str | None = None,
        view: dict | None = None,
        user_team: str | None = None,
    ) -> dict:
        """Click the button `action_id` in a message (or App Home view) as Slack sends it.
        `team` is the payload's workspace and `user_team` the clicker's own (by default the
        same): in a Slack Connect channel a partner workspace's member clicks a message
        the app posted in its own."""
        button = _find_button(message.get("blocks", []), action_id)
        origin = None
        if message.get("_ephemeral"):
            origin = {"ephemeral": message["_ephemeral"]}
        elif message.get("ts") and message.get("channel"):
            origin = {"channel": message["channel"], "ts": message["ts"]}
        response_id, response_url = self.new_response_url(channel, user, origin)
        payload = {
            "type": "block_actions",
            "team": {"id": team or self.team_id, "domain": "local"},
            "user": {"id": user, "team_id": user_team or team or self.team_id},
            "api_app_id": "A0LOCAL",
            "trigger_id": uuid.uuid4().hex,
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": button.get("_block_id", ""),
                    "value": button.get("value", ""),
                    "action_ts": str(time.time()),
                    "text": button.get("text"),
                }
            ],
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": "V0HOME"}
            payload["view"] = {"id": "V0HOME", "type": "home", **view}
        else:
            # As Slack sends it: the message's ts, the same for every click on one message;
            # the message itself only when it is no ephemeral one (Slack keeps none of those).
            ephemeral = bool(message.get("_ephemeral"))
            payload["container"] = {
                "type": "message",
                "message_ts": message.get("ts"),
                "channel_id": channel,
                "is_ephemeral": ephemeral,
            }
            if not ephemeral:
                payload["message"] = {k: v for k, v in message.items() if not k.startswith("_")}
            payload["channel"] = {"id": channel, "name": "x"}
            payload["response_url"] = response_url
        status, body = self.send(urllib.parse.urlencode({"payload": json.dumps(payload)}))
        if status != 200:  # Slack marks the button failed; the page says so where it was
            label = _text_of(button.get("text")) or action_id
            failed = self._failure(f"The button {label}", status, body)
            with self.state.lock:
                if view is not None:
                    self.state.home_errors[user] = failed
                else:
                    self._record_response(response_id, {"text": failed}, via="error")
        return {"status": status, "body": body, "response_id": response_id}

    def open_home(self, user: str = "U0LOCAL") -> dict:
        """The member opens App Home: app_home_opened, as Slack sends it; when the app does
        not take it, the page says so instead of "Loading App Home…" for ever."""
        event = {"type": "app_home_opened", "user": user, "tab": "home", "channel": "D" + user}
        result = self.event(event)
        with self.state.lock:
            if result["status"] != 200:
                failed = self._failure("App Home", result["status"], result["body"])
                self.state.home_errors[user] = failed
        return result

    def event(
        self,
        event: dict,
        team: str | None = None,
        retry_num: int | None = None,
        enterprise: str | None = None,
    ) -> dict:
        """Deliver an Events API event (app_home_opened, app_uninstalled, ...); `enterprise`:
        from a workspace of that Enterprise Grid organisation."""
        payload = {
            "token": "deprecated",
            "team_id": team or self.team_id,
            "api_app_id": "A0LOCAL",
            "type": "event_callback",
            "event_id": "Ev" + uuid.uuid4().hex[:10],
            "event_time": int(time.time()),
            "event": event,
        }
        if enterprise:
            payload["enterprise_id"] = enterprise
            payload["authorizations"] = [
                {
                    "enterprise_id": enterprise,
                    "team_id": team or self.team_id,
                    "user_id": "U0BOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ]
        body = json.dumps(payload)
        headers = {**self.sign(body), "Content-Type": "application/json"}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        status, text = self.send(body, headers)
        return {"status": status, "body": text}

    # --- the Web API ----------------------------------------------------------------------
    def _record_response(self, response_id: str, message: dict, via: str) -> None:
        with self.state.lock:
            posts = self.state.responses.setdefault(response_id, [])
            posts.append({**message, "_via": via, **self._show(response_id, message)})

    def _show(self, response_id: str, body: dict) -> dict:
        """Show a reply as Slack does: replace or delete the message the button was on, post
        in the channel (`in_channel`), or add an ephemeral message. Returns where it went."""
        where = self.state.response_urls.get(response_id) or {
            "channel": "C0GENERAL",
            "user": "U0LOCAL",
            "origin": None,
        }
        origin = where["origin"] or {}
        found = self._origin(origin)
        if _truthy(body.get("delete_original")):
            if found is not None:
                (self.state.ephemerals if "ephemeral" in origin else self.state.messages).remove(
                    found
                )
            return {}
        if _truthy(body.get("replace_original")) and found is not None:
            found.update(text=body.get("text", ""), blocks=_blocks(body))
            if "ephemeral" in origin:
                return {"_ephemeral": found["_ephemeral"], "ts": found["ts"]}
            return dict(origin)
        if body.get("response_type") == "in_channel":
            message = {
                "channel": where["channel"],
                "ts": self._next_ts(),
                "team": self.team_id,
                "text": body.get("text", ""),
                "blocks": _blocks(body),
                "thread_ts": None,
                "metadata": None,
            }
            self.state.messages.append(message)
            return {"channel": message["channel"], "ts": message["ts"]}
        ephemeral = {
            "_ephemeral": uuid.uuid4().hex[:12],
            "channel": where["channel"],
            "user": where["user"],
            "ts": self._next_ts(),
            "text": body.get("text", ""),
            "blocks": _blocks(body),
        }
        self.state.ephemerals.append(ephemeral)
        return {"_ephemeral": ephemeral["_ephemeral"], "ts": ephemeral["ts"]}

    def _origin(self, origin: dict) -> dict | None:
        if "ephemeral" in origin:
            pool = [m for m in self.state.ephemerals if m["_ephemeral"] == origin["ephemeral"]]
        else:
            pool = [
                m
                for m in self.state.messages
                if m["channel"] == origin.get("channel") and m["ts"] == origin.get("ts")
            ]
        return pool[0] if pool else None

    def find(self, ref: dict) -> dict | None:
        """The message a page reference names: an ephemeral, a channel message, App Home."""
        with self.state.lock:
            if ref.get("home"):
                return self.state.views.get(ref.get("user") or "U0LOCAL")
            if ref.get("ephemeral"):
                found = self._origin({"ephemeral": ref["ephemeral"]})
            else:
                found = self._origin({"channel": ref.get("channel"), "ts": ref.get("ts")})
            return dict(found) if found else None

    def api(self, method: str, params: dict, token: str | None) -> tuple[int, dict, dict]:
        """Answer one Web API call: (HTTP status, body, extra headers)."""
        if method == "views.publish" and self.state.hold_publish is not None:
            with self.state.lock:
                gate, self.state.hold_publish = self.state.hold_publish, None
                self.state.publish_held = True
            gate.wait(timeout=30)
            self.state.publish_held = False
        with self.state.lock:
            self.state.calls.append((method, {k: v for k, v in params.items() if k != "token"}))
            if self.state.force_429 > 0 or not self._take_rate(method, params):
                self.state.force_429 = max(self.state.force_429 - 1, 0)
                self.state.throttled += 1
                return (
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(self.state.retry_after)},
                )
            broken = self.state.http_fail_next.get(method)
            if broken:
                return broken.pop(0), {"ok": False, "error": "fatal_error"}, {}
            queued = self.state.fail_next.get(method)
            if queued:
                return 200, {"ok": False, "error": queued.pop(0)}, {}
            if method == "oauth.v2.access":
                return 200, self._oauth_access(params), {}
            team = self.state.tokens.get(token or params.get("token", ""))
            if team is None:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            if (token or params.get("token", "")) in self.state.inactive:
                return 200, {"ok": False, "error": "account_inactive"}, {}
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                return 200, {"ok": False, "error": "unknown_method"}, {}
            return 200, handler(params, team), {}

    def _take_rate(self, method: str, params: dict) -> bool:
        """About one message per second per channel, with a short burst allowed."""
        if method != "chat.postMessage":
            return True
        channel = str(params.get("channel", ""))
        now = time.monotonic()
        tokens, last = self.state.buckets.get(channel, (self.state.burst, now))
        tokens = min(self.state.burst, tokens + (now - last) * self.state.rate_per_second)
        if tokens < 1:
            self.state.buckets[channel] = (tokens, now)
            return False
        self.state.buckets[channel] = (tokens - 1, now)
        return True

    def _target(self, channel: str) -> tuple[str | None, str | None]:
        """A channel id as Slack resolves it: a user id posts to that user's DM."""
        if channel.startswith(("U", "W")):
            user = self.state.users.get(channel)
            if user is None:
                return None, "channel_not_found"
            if user["deleted"]:  # a deactivated member (account_inactive is the token's)
                return None, "user_disabled"
            return "D" + channel, None
        if channel.startswith("D"):  # a DM: "D" and its member's id here, as they resolve
            if channel[1:2] in ("U", "W"):
                return self._target(channel[1:])
            return None, "channel_not_found"
        known = self.state.channels.get(channel)
        if known is None:
            return None, "channel_not_found"
        if known.error:
            return None, known.error
        if not known.is_member:
            return None, "not_in_channel"
        return channel, None

    def _oauth_access(self, params: dict) -> dict:
        """Exchange an OAuth code for a new bot token of a new workspace."""
        if not params.get("code"):
            return {"ok": False, "error": "invalid_code"}
        team_id = self.state.install_team or "T" + uuid.uuid4().hex[:8].upper()
        token = "xoxb-" + "-".join(uuid.uuid4().hex[:12] for _ in range(3))
        self.state.tokens[token] = team_id
        enterprise = self.state.install_enterprise
        return {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "scope": "commands,chat:write",
            "bot_user_id": "U0BOT",
            "app_id": "A0LOCAL",
            "team": None if self.state.org_install else {"id": team_id, "name": "New"},
            "enterprise": {"id": enterprise, "name": "Org"} if enterprise else None,
            "is_enterprise_install": self.state.org_install,
            "authed_user": {"id": "U0LOCAL"},
        }

    def _m_auth_test(self, params: dict, team: str) -> dict:
        return {
            "ok": True,
            "team_id": team,
            "team": "Local",
            "user_id": "U0BOT",
            "bot_id": "B0BOT",
            "url": self.url + "/",
        }

    def _m_chat_postMessage(self, params: dict, team: str) -> dict:
        channel, error = self._target(str(params.get("channel", "")))
        if error:
            return {"ok": False, "error": error}
        problem = _check_message(params)
        if problem:
            self.state.rejected.append(("chat.postMessage", problem["error"]))
            return problem
        ts = self._next_ts()
        metadata = params.get("metadata")
        metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
        message = {
            "channel": channel,
            "ts": ts,
            "team": team,
            "text": params.get("text", ""),
            "blocks": _blocks(params),
            "thread_ts": params.get("thread_ts"),
            "metadata": metadata,
        }
        self.state.messages.append(message)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _m_chat_unfurl(self, params: dict, team: str) -> dict:
        """Attach previews to a message: each URL's blocks checked like a message's; a second
        call for the same message replaces those URLs' previews instead of adding more."""
        if params.get("channel") and params.get("ts"):
            key = f"{params['channel']}:{params['ts']}"
        elif params.get("unfurl_id") and params.get("source"):
            key = str(params["unfurl_id"])
        else:
            return {"ok": False, "error": "invalid_arguments"}
        unfurls = params.get("unfurls")
        try:
            unfurls = json.loads(unfurls) if isinstance(unfurls, str) else unfurls
        except ValueError:
            unfurls = None
        if not isinstance(unfurls, dict) or not unfurls:
            return {"ok": False, "error": "invalid_unfurls_format"}
        for url, unfurl in unfurls.items():
            if not isinstance(unfurl, dict):
                return {"ok": False, "error": "invalid_unfurls_format"}
            errors = validate_blocks(unfurl.get("blocks") or [], surface="message")
            if errors:
                self.state.rejected.append(("chat.unfurl", f"{url}: " + "; ".join(errors)))
                return {"ok": False, "error": "invalid_blocks", "errors": errors}
        self.state.unfurls.setdefault(key, {}).update(unfurls)
        return {"ok": True}

    def _m_conversations_history(self, params: dict, team: str) -> dict:
        channel = str(params.get("channel", ""))
        oldest = float(params.get("oldest") or 0)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        found = [
            {k: v for k, v in m.items() if k != "metadata" or with_metadata}
            for m in reversed(self.state.messages)
            if m["channel"] == channel and m["team"] == team and float(m["ts"]) >= oldest
        ]
        # Paged as Slack pages it: `limit` (default 100, at most 999) newest first, with
        # has_more and response_metadata.next_cursor for the next page.
        limit = min(max(int(params.get("limit") or 100), 1), 999)
        cursor = str(params.get("cursor") or "")
        start = int(cursor[5:]) if cursor.startswith("next:") and cursor[5:].isdigit() else 0
        page, more = found[start : start + limit], start + limit < len(found)
        answer: dict = {"ok": True, "messages": page, "has_more": more}
        if more:
            answer["response_metadata"] = {"next_cursor": f"next:{start + limit}"}
        return answer

    def _m_users_info(self, params: dict, team: str) -> dict:
        user = self.state.users.get(str(params.get("user", "")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {
            "ok": True,
            "user": {**user, "team_id": team, "tz_label": user["tz"], "tz_offset": 0},
        }

    def _m_conversations_open(self, params: dict, team: str) -> dict:
        users = str(params.get("users", "")).split(",")[0]
        channel, error = self._target(users)
        if error:
            return {"ok": False, "error": error}
        return {"ok": True, "channel": {"id": channel}}

    def _m_conversations_info(self, params: dict, team: str) -> dict:
        channel = self.state.channels.get(str(params.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": {"id": channel.id, "name": channel.name, "is_member": channel.is_member},
        }

    def _m_views_publish(self, params: dict, team: str) -> dict:
        view = params.get("view")
        view = json.loads(view) if isinstance(view, str) else view or {}
        errors = validate_blocks(view.get("blocks", []), surface="home")
        if len(str(view.get("private_metadata") or "")) > PRIVATE_METADATA:
            errors.append(f"private_metadata over {PRIVATE_METADATA} characters")
        if errors:
            self.state.rejected.append(("views.publish", "; ".join(errors)))
            return {
                "ok": False,
                "error": "invalid_arguments",
                "response_metadata": {"messages": errors},
            }
        user = str(params.get("user_id"))
        # As Slack: a `hash` (the view the app last saw) that is no longer the view's gets
        # hash_conflict, so a slow publish never replaces a newer view; each publish hashes anew.
        current = self.state.views.get(user)
        if params.get("hash") and current is not None and params["hash"] != current.get("hash"):
            return {"ok": False, "error": "hash_conflict"}
        view = {**view, "hash": uuid.uuid4().hex}
        self.state.views[user] = view
        self.state.home_errors.pop(user, None)  # the app answers again
        return {"ok": True, "view": {"id": "V0HOME", **view}}

    def response_url_post(self, response_id: str, body: dict) -> tuple[int, dict | str]:
        """A post to a response_url: at most five, each checked like a message."""
        with self.state.lock:
            posts = self.state.responses.get(response_id)
            if posts is None:
                return 404, "no_response_url"
            if len([p for p in posts if p["_via"] != "ack"]) >= RESPONSE_URL_MAX_POSTS:
                return 404, "used_url"
            problem = None if _truthy(body.get("delete_original")) else _check_message(body)
            if problem:
                self.state.rejected.append(("response_url", problem["error"]))
                return 400, problem["error"]
            posts.append({**body, "_via": "response_url", **self._show(response_id, body)})
            return 200, "ok"


def _truthy(value) -> bool:
    return value is True or str(value).lower() == "true"


def _blocks(params: dict) -> list:
    blocks = params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def _check_message(params: dict) -> dict | None:
    """Slack's error for a message that breaks Block Kit limits, or None."""
    try:
        blocks = _blocks(params)
    except ValueError:
        return {"ok": False, "error": "invalid_blocks_format"}
    text = params.get("text") or ""
    if not blocks and not text:
        return {"ok": False, "error": "no_text"}
    if len(text) > 40_000:
        return {"ok": False, "error": "msg_too_long"}
    errors = validate_blocks(blocks, surface="message")
    if errors:
        error = "msg_blocks_too_long" if any("total" in e for e in errors) else "invalid_blocks"
        return {"ok": False, "error": error, "errors": errors}
    return None


def _text_of(obj) -> str:
    return str(obj.get("text") or "") if isinstance(obj, dict) else ""


def _find_button(blocks: list, action_id: str) -> dict:
    for block in blocks:
        elements = block.get("elements", []) if block.get("type") == "actions" else []
        accessory = block.get("accessory")
        for element in [*elements, *([accessory] if accessory else [])]:
            if element.get("action_id") == action_id:
                return {**element, "_block_id": block.get("block_id", "")}
    raise KeyError(f"no button {action_id!r} in the message")


def _handler(stub: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # the app's logs are what matter
            pass

        def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data, headers: dict | None = None) -> None:
            self._send(
                status, json.dumps(data).encode(), "application/json; charset=utf-8", headers
            )

        def _params(self) -> dict:
            parsed = urllib.parse.urlparse(self.path)
            params = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if raw:
                if "json" in (self.headers.get("Content-Type") or ""):
                    params.update(json.loads(raw))
                else:
                    params.update(
                        {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                    )
            return params

        def _discard_body(self) -> None:
            """Read a body left unused: unread, it would begin the connection's next request."""
            self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self) -> None:  # noqa: N802
            path = urllib.parse.urlparse(self.path).path
            if path == "/":
                self._send(200, PAGE.read_bytes(), "text/html; charset=utf-8")
            elif path == "/_stub/state":
                with stub.state.lock:
                    self._json(
                        200,
                        {
                            "now": time.time(),
                            "messages": stub.state.messages[-200:],
                            "ephemerals": stub.state.ephemerals[-200:],
                            "responses": stub.state.responses,
                            "views": stub.state.views,
                            "home_errors": stub.state.home_errors,
                            "rejected": stub.state.rejected[-50:],
                            "channels": {c.id: c.name for c in stub.state.channels.values()},
                            "users": {u["id"]: u["name"] for u in stub.state.users.values()},
                        },
                    )
            elif path.startswith("/api/"):
                self._api(path)
            else:
                self._json(404, {"ok": False, "error": "not_found"})

        def _cross_origin(self) -> bool:
            """A form or script on another site posting to the page's endpoints: refused, as
            the stand-in signs what they send (and would make any site a command sender)."""
            site = self.headers.get("Sec-Fetch-Site")
            if site and site not in ("same-origin", "none"):
                return True
            origin = self.headers.get("Origin")
            port = self.server.server_address[1]
            return bool(origin) and origin not in (
                f"http://127.0.0.1:{port}",
                f"http://localhost:{port}",
            )

        def do_POST(self) -> None:  # noqa: N802
            path = urllib.parse.urlparse(self.path).path
            if path.startswith("/_stub/") and self._cross_origin():
                self._discard_body()
                self._json(403, {"ok": False, "error": "cross_origin_refused"})
            elif path.startswith("/api/"):
                self._api(path)
            elif path.startswith("/response/"):
                status, body = stub.response_url_post(path.rsplit("/", 1)[-1], self._params())
                self._send(status, str(body).encode(), "text/plain")
            elif path == "/_stub/command":
                params = self._params()
                result = stub.command(
                    params.get("text", ""),
                    params.get("user") or "U0LOCAL",
                    params.get("channel") or "C0GENERAL",
                )
                self._json(200, result)
            elif path == "/_stub/click":
                params = self._params()
                ref = params.get("ref") or {}
                message = stub.find(ref) if ref else params.get("message")
                if message is None:
                    self._json(404, {"ok": False, "error": "message_not_found"})
                    return
                result = stub.click(
                    message,
                    params["action_id"],
                    params.get("user") or "U0LOCAL",
                    channel=message.get("channel") or "C0GENERAL",
                    view=message if ref.get("home") or params.get("home") else None,
                )
                self._json(200, result)
            elif path == "/_stub/home":
                self._discard_body()
                self._json(200, stub.open_home())
            else:
                self._discard_body()
                self._json(404, {"ok": False, "error": "not_found"})

        def _api(self, path: str) -> None:
            method = path[len("/api/") :]
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
            try:
                params = self._params()
            except ValueError:
                self._json(200, {"ok": False, "error": "invalid_form_data"})
                return
            with stub.state.lock:
                stub.state.in_flight += 1
            try:
                status, body, headers = stub.api(method, params, token)
                if method == "chat.postMessage" and body.get("ok"):
                    stub.hold_answer()
                    with stub.state.lock:
                        hang_up = stub.state.hang_up_after_post > 0
                        stub.state.hang_up_after_post -= hang_up
                    if hang_up:
                        self.close_connection = True
                        return
                self._json(status, body, headers)
            finally:
                with stub.state.lock:
                    stub.state.in_flight -= 1

    return Handler
