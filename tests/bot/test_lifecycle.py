"""Uninstalls and revoked tokens stop all delivery to a team and forget its tokens."""

from __future__ import annotations

import re
import sqlite3
import threading
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore

from bot.app import build_app, make_http_server
from jobs.delivery import Outcome, deliver_due
from jobs.slack import client_factory
from storage import connect, teams
from storage import subscriptions as subs
from storage.config import Config
from tests.bot.conftest import SECRET, wait_for
from tests.conftest import add_subscription, count

START = datetime(2026, 3, 16, 12, tzinfo=UTC)
DUE = datetime(2026, 3, 17, 8, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        pytest.param({"type": "app_uninstalled"}, "app uninstalled", id="app_uninstalled"),
        pytest.param(
            {"type": "tokens_revoked", "tokens": {"bot": ["B0BOT"]}},
            "tokens revoked",
            id="tokens_revoked",
        ),
    ],
)
def test_uninstall_stops_all_delivery_to_the_team(slack, config, event, reason):
    db = connect(config.db_path)
    for n in range(3):
        add_subscription(db, slack.team_id, f"U{n}", f"U{n}", "personal", START)
    add_subscription(db, "T0OTHER", "U9", "U9", "personal", START)
    assert slack.event(event)["status"] == 200
    assert slack.event(event, retry_num=1)["status"] == 200  # Slack's retry changes nothing
    count("faults injected")
    paused = "SELECT COUNT(*) AS n FROM subscriptions WHERE status = 'paused'"
    wait_for(lambda: next(db.query(paused))["n"] == 3)  # events are handled after the ack
    rows = list(db.query("SELECT team_id, status, paused_reason FROM subscriptions ORDER BY id"))
    assert [r["paused_reason"] for r in rows[:3]] == [reason] * 3
    assert rows[3] == {"team_id": "T0OTHER", "status": "active", "paused_reason": None}
    assert subs.due(db, DUE + timedelta(days=1)) == [subs.by_id(db, 4)]


def _oauth_config(tmp_path, standin) -> Config:
    """An OAuth-mode app (client id and secret, encrypted tokens) against the stand-in."""
    return Config(
        db_path=str(tmp_path / "p.db"),
        slack_signing_secret=SECRET,
        slack_client_id="111.222",
        slack_client_secret="not-a-real-secret",
        token_key=Fernet.generate_key().decode(),
        slack_api_url=standin.api_url,
    )


@pytest.mark.parametrize(
    "event",
    [
        pytest.param({"type": "app_uninstalled"}, id="app_uninstalled"),
        # Only the bot rows went: the installation row kept the revoked bot token, which
        # Bolt's authorize reads first.
        pytest.param({"type": "tokens_revoked", "tokens": {"bot": ["B0BOT"]}}, id="tokens_revoked"),
    ],
)
@pytest.mark.parametrize(
    "enterprise",
    [
        pytest.param(None, id="workspace"),
        # Installed before the workspace joined an Enterprise Grid organisation: its rows
        # have no organisation, its uninstall names one, and the tokens stayed.
        pytest.param("E0GRID", id="joined-a-grid-since"),
    ],
)
def test_oauth_uninstall_deletes_the_team_tokens(tmp_path, standin, event, enterprise):
    config = _oauth_config(tmp_path, standin)
    store = SQLite3InstallationStore(database=config.db_path, client_id="111.222")
    store.save(
        Installation(
            app_id="A0LOCAL",
            team_id=standin.team_id,
            user_id="U0LOCAL",
            bot_token=standin.token,
            bot_id="B0BOT",
            bot_user_id="U0BOT",
            bot_scopes="commands,chat:write",
        )
    )
    assert store.find_bot(enterprise_id=None, team_id=standin.team_id) is not None
    server = make_http_server(build_app(config), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    standin.app_url = f"http://127.0.0.1:{server.server_port}/slack/events"
    try:
        assert standin.event(event, enterprise=enterprise)["status"] == 200
        wait_for(lambda: store.find_bot(enterprise_id=None, team_id=standin.team_id) is None)
        wait_for(
            lambda: store.find_installation(enterprise_id=None, team_id=standin.team_id) is None
        )
        with sqlite3.connect(config.db_path) as conn:
            for table in ("slack_installations", "slack_bots"):
                assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone() == (0,)
    finally:
        server.shutdown()


def oauth_install(base: str) -> int:
    """Go through /slack/install and the redirect as the admin's browser does; the status."""
    install = urllib.request.urlopen(f"{base}/slack/install", timeout=10)
    cookie = install.headers["Set-Cookie"].split(";")[0]  # Secure: carried by hand over http
    state = re.search(r"authorize\?state=([\w-]+)", install.read().decode()).group(1)
    callback = f"{base}/slack/oauth_redirect?code=c0de&state={state}"
    done = urllib.request.urlopen(
        urllib.request.Request(callback, headers={"Cookie": cookie}), timeout=10
    )
    return done.status


def test_installing_again_after_an_uninstall_resumes_delivery(tmp_path, standin):
    """A workspace that uninstalled the app and installs it again is served again: the
    subscriptions the uninstall paused resume (not one its member paused), and one made
    after the reinstall is delivered. Before, the team stayed "app uninstalled" for good."""
    config = _oauth_config(tmp_path, standin)
    standin.state.install_team = standin.team_id
    server = make_http_server(build_app(config), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    standin.app_url = f"{base}/slack/events"
    db = connect(config.db_path)
    try:
        assert oauth_install(base) == 200
        kept = add_subscription(db, standin.team_id, "U1", "U1", "personal", START)
        mine = add_subscription(db, standin.team_id, "U2", "U2", "personal", START)
        subs.pause(db, mine.id, "paused from App Home")
        # Slack sends both on an uninstall. Each is handled after its ack: wait for each, or
        # a late app_uninstalled (on a busy machine) undid the reinstall below.
        standin.event({"type": "tokens_revoked", "tokens": {"bot": ["B0BOT"]}})
        wait_for(lambda: teams.status(db, standin.team_id) == teams.REVOKED)
        standin.event({"type": "app_uninstalled"})
        wait_for(lambda: teams.status(db, standin.team_id) == teams.UNINSTALLED)
        assert subs.due(db, DUE + timedelta(days=1)) == []
        assert subs.by_id(db, kept.id).status == "paused"
        assert oauth_install(base) == 200
        after = add_subscription(db, standin.team_id, "U3", "U3", "personal", START)
        # Served again: `kept` resumes at its next slot after the reinstall (the real clock).
        served = subs.due(db, datetime.now(UTC) + timedelta(days=2))
        assert {s.id for s in served} == {kept.id, after.id}
        assert subs.by_id(db, mine.id).paused_reason == "paused from App Home"
    finally:
        server.shutdown()


def test_a_workspace_that_installs_again_with_a_new_bot_token_is_served_again(slack, config, reply):
    """One workspace, no OAuth: after an uninstall the team stayed unserved for good, even
    once reinstalled with a new SLACK_BOT_TOKEN. A command from it (Slack sends commands only
    to an installed app) serves it again once the token works; a dead token changes nothing."""
    db = connect(config.db_path)
    sub = add_subscription(db, slack.team_id, "U0LOCAL", "U0LOCAL", "personal", START)
    assert "Your subscriptions" in reply("list")["text"]  # the running app, authorized once
    slack.event({"type": "app_uninstalled"})
    wait_for(lambda: subs.by_id(db, sub.id).status == "paused")
    team = slack.state.tokens.pop(slack.token)  # Slack revokes the token with the uninstall
    assert "Your subscriptions" in reply("list")["text"]
    assert subs.due(db, DUE + timedelta(days=1)) == []
    slack.state.tokens[slack.token] = team  # reinstalled: the app runs with the new token
    assert "Your subscriptions" in reply("list")["text"]
    assert subs.due(db, datetime.now(UTC) + timedelta(days=2)) == [subs.by_id(db, sub.id)]


def test_opening_app_home_after_a_reinstall_serves_the_team_again(slack, config):
    """One workspace, reinstalled with a new SLACK_BOT_TOKEN: App Home showed every
    subscription "paused: app uninstalled", and Resume there made it look active while the
    team stayed unserved (nothing was delivered) until someone typed a /papers command.
    Slack shows Home only for an installed app: opening it serves the team again."""
    db = connect(config.db_path)
    sub = add_subscription(db, slack.team_id, "U0LOCAL", "U0LOCAL", "personal", START)
    slack.event({"type": "app_uninstalled"})
    wait_for(lambda: subs.by_id(db, sub.id).status == "paused")
    slack.state.views.clear()
    slack.event({"type": "app_home_opened", "user": "U0LOCAL", "tab": "home"})
    view = wait_for(lambda: slack.state.views.get("U0LOCAL"))
    assert "paused" not in str(view["blocks"]) and "Pause" in str(view["blocks"])
    assert subs.due(db, datetime.now(UTC) + timedelta(days=2)) == [subs.by_id(db, sub.id)]


@pytest.mark.parametrize(
    "error",
    [
        # The token died with no event seen (the bot was down, or Slack's retries ran out).
        pytest.param("invalid_auth", id="token-gone"),
        pytest.param("token_revoked", id="token_revoked"),
        # The bot user deactivated (Slack: "token is for a deleted user or workspace"): every
        # subscription failed in turn, and the reinstall resumed none of them.
        pytest.param("account_inactive", id="bot-user-deactivated"),
    ],
)
def test_a_dead_token_found_by_the_worker_is_resumed_by_the_reinstall(slack, config, reply, error):
    """The worker, not an event, found that the workspace's token was dead: it paused each
    due subscription with "Slack said invalid_auth" and went on trying the rest as they
    fell due; after the reinstall they all stayed paused (the team was never marked gone),
    and each member had to find and resume theirs. Now a dead token stops the whole
    team, as an uninstall does, and the reinstall resumes every subscription it paused."""
    db = connect(config.db_path)
    first = add_subscription(db, slack.team_id, "U0LOCAL", "U0LOCAL", "personal", START)
    later = add_subscription(db, slack.team_id, "U0LOCAL", "C0GENERAL", "channel", START)
    subs.move_schedule(db, later.id, None, DUE + timedelta(hours=6))
    mine = add_subscription(
        db, slack.team_id, "U0LOCAL", "U0LOCAL", "personal", START, keywords="x"
    )
    subs.pause(db, mine.id, "paused from App Home")
    assert "Your subscriptions" in reply("list")["text"]  # the app, authorized while it worked
    if error == "account_inactive":
        slack.state.inactive.add(slack.token)
    else:
        team = slack.state.tokens.pop(slack.token)  # uninstalled: Slack revoked the token
    if error == "token_revoked":
        slack.state.fail_next["conversations.open"] = [error]
    clients = client_factory(config)
    assert deliver_due(db, config, clients, DUE + timedelta(hours=1)) == Counter(
        {Outcome.PAUSED: 1}
    )
    calls = len(slack.state.calls)
    assert deliver_due(db, config, clients, DUE + timedelta(hours=7)) == Counter()
    assert len(slack.state.calls) == calls  # the rest of the team is not tried with it
    listed = reply("list")["text"]
    assert listed.count("paused: bot token refused by Slack") == 2, listed
    if error == "account_inactive":
        slack.state.inactive.discard(slack.token)  # reinstalled: the bot user is active again
    else:
        slack.state.tokens[slack.token] = team  # reinstalled: the app runs with a working token
    listed = reply("list")["text"]
    assert "bot token refused" not in listed and "paused from App Home" in listed
    served = subs.due(db, datetime.now(UTC) + timedelta(days=2))
    assert {s.id for s in served} == {first.id, later.id}


@pytest.mark.parametrize(
    "reason",
    [
        pytest.param("Slack said invalid_auth", id="older-worker-dead-token"),
        pytest.param(subs.NO_TOKEN, id="no-token-for-the-team"),
        pytest.param(teams.REFUSED, id="refused-with-the-team-left-active"),
        # The reinstall brings the scopes a new version asks for, and an active bot user.
        pytest.param("Slack said missing_scope", id="missing-scope"),
        pytest.param("Slack said account_inactive", id="bot-user-inactive"),
    ],
)
def test_a_reinstall_resumes_what_an_older_worker_paused_for_a_dead_token(
    tmp_path, standin, reason
):
    """Before the worker stopped a whole team on a dead token, it paused each subscription
    "Slack said invalid_auth" and left the team active: a database from then kept them
    paused through the reinstall. The reinstall (a new, working token) resumes them, and
    those paused for want of a token (a Grid workspace's before its tokens were found, an
    org-wide install), or refused by a worker stopped before it marked the team."""
    config = _oauth_config(tmp_path, standin)
    standin.state.install_team = standin.team_id
    server = make_http_server(build_app(config), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    db = connect(config.db_path)
    try:
        assert oauth_install(base) == 200
        dead = add_subscription(db, standin.team_id, "U1", "U1", "personal", START)
        gone = add_subscription(db, standin.team_id, "U2", "C0GONE", "channel", START)
        subs.pause(db, dead.id, reason)
        subs.pause(db, gone.id, "Slack said channel_not_found")
        assert oauth_install(base) == 200
        assert subs.by_id(db, dead.id).status == "active"
        assert subs.by_id(db, gone.id).paused_reason == "Slack said channel_not_found"
    finally:
        server.shutdown()
