"""Several workspaces on one deployment: each is served with its own token, and only its own."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from datetime import datetime

import pytest
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation

from bot.app import build_app, make_http_server
from jobs.delivery import Outcome, deliver_due
from jobs.slack import client_factory
from storage import connect
from storage import subscriptions as subs
from storage.config import Config
from storage.installations import EncryptedInstallationStore
from tests.bot.conftest import SECRET, wait_for
from tests.conftest import install


def oauth_config(seeded_path, standin) -> Config:
    """An OAuth-mode deployment (client id and secret, encrypted tokens) on the stand-in."""
    return Config(
        db_path=str(seeded_path),
        slack_signing_secret=SECRET,
        slack_client_id="111.222",
        slack_client_secret="not-a-real-secret",
        token_key=Fernet.generate_key().decode(),
        slack_api_url=standin.api_url,
        empty_digest="note",  # a digest goes out whatever the seeds hold
    )


@pytest.fixture
def serve(standin):
    """Run the app built from a config against the stand-in (returns its base URL);
    stopped after the test."""
    servers = []

    def start(config: Config) -> str:
        server = make_http_server(build_app(config), "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        standin.app_url = f"http://127.0.0.1:{server.server_port}/slack/events"
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


def command(
    standin, text: str, team: str, enterprise: str | None = None, org_wide: bool = False
) -> str:
    """A /papers command as Slack sends it (with `enterprise_id` on Enterprise Grid, and
    `is_enterprise_install` where the app is installed across the organisation); the text
    of the app's reply."""
    response_id, url = standin.new_response_url("C0GENERAL", "U0LOCAL")
    form = {
        "team_id": team,
        "team_domain": "x",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": "U0LOCAL",
        "user_name": "you",
        "command": "/papers",
        "text": text,
        "api_app_id": "A0LOCAL",
        "response_url": url,
        "trigger_id": uuid.uuid4().hex,
    }
    if enterprise:
        form["enterprise_id"] = enterprise
        form["is_enterprise_install"] = "true" if org_wide else "false"
    status, body = standin.send(urllib.parse.urlencode(form))
    assert status == 200, body
    if body.strip().startswith("{"):  # answered in the ack itself, as Slack shows it
        return json.loads(body)["text"]
    return wait_for(lambda: standin.responses(response_id))[0]["text"]


@pytest.mark.parametrize(
    "enterprise",
    [
        pytest.param(None, id="workspace"),
        # A workspace of an Enterprise Grid organisation: Bolt stores its token under the
        # organisation too, and the worker looked for it without: every digest paused.
        pytest.param("E0GRID", id="enterprise-grid-workspace"),
    ],
)
def test_a_subscription_made_in_a_workspace_gets_its_digest(
    seeded_path, standin, serve, enterprise
):
    config = oauth_config(seeded_path, standin)
    install(config, standin.team_id, standin.token, enterprise)
    serve(config)
    assert "Subscribed" in command(
        standin, "subscribe lora daily at 09:00", standin.team_id, enterprise
    )
    db = connect(config.db_path)
    due = datetime.fromisoformat(subs.by_id(db, 1).next_due_at)
    assert deliver_due(db, config, client_factory(config), due) == Counter({Outcome.SENT: 1})
    assert len(standin.messages("DU0LOCAL")) == 1
    assert "paused" not in command(standin, "list", standin.team_id, enterprise)
    assert subs.by_id(db, 1).status == "active"


def test_another_workspace_cannot_see_or_change_a_workspaces_subscriptions(
    seeded_path, standin, serve
):
    """Two workspaces on one OAuth deployment: ids are global, yet B naming A's #1 (by
    command or by a button of an App Home built for A) finds nothing and changes nothing."""
    config = oauth_config(seeded_path, standin)
    standin.state.tokens["xoxb-team-b"] = "T0B"
    install(config, standin.team_id, standin.token)
    install(config, "T0B", "xoxb-team-b")
    serve(config)
    team_a = standin.team_id
    assert "Subscribed: *#1*" in command(standin, "subscribe lora daily at 09:00", team_a)
    for text, answer in [
        ("list", "No subscriptions yet"),
        ("unsubscribe 1", "No subscription of yours matches `1`"),
        ("pause #1", "No subscription of yours matches `#1`"),
        ("resume 1", "No subscription of yours matches `1`"),
        ("unsubscribe all", "No subscription of yours matches `all`"),
        ("saved", "reading list is empty"),
    ]:
        assert answer in command(standin, text, "T0B"), text
    standin.event({"type": "app_home_opened", "user": "U0LOCAL", "tab": "home"})
    view = wait_for(lambda: standin.state.views.get("U0LOCAL"))
    for action in ("home_pause_1", "home_remove_1"):
        assert standin.click(view, action, team="T0B", view=view)["status"] == 200
    db = connect(config.db_path)
    assert "paused" not in command(standin, "list", team_a)
    assert subs.by_id(db, 1).status == "active" and subs.by_id(db, 1).team_id == team_a


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("subscribe lora daily at 09:00", id="subscribe"),
        pytest.param("list", id="list"),
        pytest.param("lora", id="search"),
    ],
)
def test_a_second_workspace_on_a_one_workspace_deployment_is_told_so(slack, config, text):
    """One bot token serves its own workspace: a command from another workspace was answered
    with that token ("Subscribed", then each digest posted with the other workspace's token
    and refused). Now it is told, in one line, and nothing is stored."""
    answer = command(slack, text, "T0ELSEWHERE")
    assert "set up for one workspace" in answer and "SLACK_CLIENT_ID" in answer
    assert "Subscribed" in command(slack, "subscribe lora daily at 09:00", slack.team_id)
    db = connect(config.db_path)
    assert [s.team_id for s in subs.visible_to(db, slack.team_id, "U0LOCAL")] == [slack.team_id]
    assert db["subscriptions"].count_where("team_id = ?", ["T0ELSEWHERE"]) == 0


def test_another_workspaces_command_is_refused_in_the_ack_itself(slack, config):
    """The refusal was posted to the response_url from middleware before the command was
    acknowledged: a slow response_url held the ack past Slack's 3 seconds (the member saw
    "operation_timeout"). The refusal is now the ack's own body, and nothing else is sent."""
    sent = slack.command("list", team="T0ELSEWHERE")
    assert sent["status"] == 200
    ack = json.loads(sent["body"])
    assert "set up for one workspace" in ack["text"] and ack["response_type"] == "ephemeral"
    assert [p["_via"] for p in slack.responses(sent["response_id"])] == ["ack"]


def install_through_slack(base: str) -> tuple[int, str]:
    """/slack/install and the redirect, as the admin's browser goes; status and page."""
    page = urllib.request.urlopen(f"{base}/slack/install", timeout=10)
    cookie = page.headers["Set-Cookie"].split(";")[0]  # Secure: carried by hand over http
    state = re.search(r"authorize\?state=([\w-]+)", page.read().decode()).group(1)
    done = urllib.request.Request(
        f"{base}/slack/oauth_redirect?code=c0de&state={state}", headers={"Cookie": cookie}
    )
    try:
        with urllib.request.urlopen(done, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@pytest.mark.parametrize(
    ("org_wide", "stored"),
    [
        pytest.param(False, 1, id="a-grid-workspace"),
        # Commands worked, but the worker finds tokens by workspace: every digest paused
        # "no bot token for this team". The admin is told at the install instead.
        pytest.param(True, 0, id="organisation-wide"),
    ],
)
def test_an_enterprise_grid_install_is_per_workspace(seeded_path, standin, serve, org_wide, stored):
    config = oauth_config(seeded_path, standin)
    standin.state.install_team = standin.team_id
    standin.state.install_enterprise, standin.state.org_install = "E0GRID", org_wide
    base = serve(config)
    status, page = install_through_slack(base)
    assert ("installed in each workspace" in page) is org_wide and status == 200
    with sqlite3.connect(config.db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM slack_bots").fetchone() == (stored,)


def test_an_organisation_wide_install_stored_before_it_was_refused_authorises_nothing(
    seeded_path, standin, serve
):
    """An organisation-wide install stored before the app refused them still answered
    commands ("Subscribed") while every digest paused for want of a workspace token. Such
    a row now authorises nothing, and the member is told what the refusal page tells the
    admin: install papers in each workspace."""
    config = oauth_config(seeded_path, standin)
    store = EncryptedInstallationStore(
        database=config.db_path, client_id=config.slack_client_id, key=config.token_key
    )
    store.save(
        Installation(
            app_id="A0LOCAL",
            enterprise_id="E0GRID",
            team_id=None,
            user_id="U0LOCAL",
            bot_token=standin.token,
            bot_id="B0BOT",
            bot_user_id="U0BOT",
            bot_scopes="commands,chat:write",
            is_enterprise_install=True,
        )
    )
    serve(config)
    for text in ("subscribe lora daily at 09:00", "list"):
        answer = command(standin, text, standin.team_id, "E0GRID", org_wide=True)
        assert "in each workspace that uses it" in answer and "Subscribed" not in answer
    assert connect(config.db_path)["subscriptions"].count == 0


def test_a_workspace_with_no_installation_is_told_to_install_it_there(seeded_path, standin, serve):
    """Bolt answers a command it cannot authorise with our line: a workspace that never
    installed the app, or lost its installation (a database restored from before it), is
    told so plainly, not only why an organisation-wide install was refused."""
    serve(oauth_config(seeded_path, standin))
    answer = command(standin, "list", standin.team_id)
    assert answer.startswith(":warning: papers has no installation for this workspace."), answer
    assert "Ask your Slack admin to install it from this workspace" in answer
