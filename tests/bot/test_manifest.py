"""manifest.yaml, which the admin pastes into Slack, against what the app registers, asks an
OAuth install for, and serves: a listener the manifest lacks never gets a request."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest
import yaml
from slack_bolt.oauth.oauth_settings import OAuthSettings

from bot.app import SCOPES
from bot.listeners import register
from bot.unfurl import ARXIV_HOSTS, HF_HOSTS
from tests.conftest import ROOT

MANIFEST = yaml.safe_load((ROOT / "manifest.yaml").read_text(encoding="utf-8"))
FEATURES, SETTINGS = MANIFEST["features"], MANIFEST["settings"]


class Registered:
    """Stands in for Bolt's App in register(app): what each listener is registered for."""

    def __init__(self) -> None:
        self.commands: set[str] = set()
        self.events: set[str] = set()

    def command(self, name: str):
        self.commands.add(name)
        return lambda listener: listener

    def event(self, name: str):
        self.events.add(name)
        return lambda listener: listener

    def action(self, _constraint):
        return lambda listener: listener

    def error(self, handler):
        return handler


@pytest.fixture(scope="module")
def registered() -> Registered:
    app = Registered()
    register(app)
    return app


def test_every_slash_command_the_app_registers_is_in_the_manifest(registered):
    assert {c["command"] for c in FEATURES["slash_commands"]} == registered.commands


def test_every_event_the_app_listens_to_is_subscribed_in_the_manifest(registered):
    assert set(SETTINGS["event_subscriptions"]["bot_events"]) == registered.events


def test_an_oauth_install_asks_for_the_manifest_scopes():
    assert sorted(SCOPES) == sorted(MANIFEST["oauth_config"]["scopes"]["bot"])


def test_the_unfurl_domains_are_the_ones_links_are_previewed_for():
    assert set(FEATURES["unfurl_domains"]) == {"arxiv.org", "huggingface.co"}
    assert {"arxiv.org", "huggingface.co"} <= ARXIV_HOSTS | HF_HOSTS


def test_the_app_home_tab_is_on_as_the_app_publishes_one():
    assert FEATURES["app_home"]["home_tab_enabled"] is True
    assert SETTINGS["interactivity"]["is_enabled"] is True


def _path(url: str) -> str:
    return urllib.parse.urlparse(url).path


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(FEATURES["slash_commands"][0]["url"], id="slash-command"),
        pytest.param(SETTINGS["event_subscriptions"]["request_url"], id="events"),
        pytest.param(SETTINGS["interactivity"]["request_url"], id="interactivity"),
    ],
)
def test_every_request_url_of_the_manifest_is_served(slack, url):
    # Slack's first request to a new URL is a signed url_verification challenge.
    served = urllib.parse.urlparse(slack.app_url)
    slack.app_url = f"{served.scheme}://{served.netloc}{_path(url)}"
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "x"})
    status, answer = slack.send(body, content_type="application/json")
    assert status == 200 and "c-123" in answer


def test_the_oauth_redirect_url_is_where_bolt_finishes_an_install():
    (redirect,) = MANIFEST["oauth_config"]["redirect_urls"]
    settings = OAuthSettings(client_id="1", client_secret="2")
    assert _path(redirect) == settings.redirect_uri_path
    hosts = {
        urllib.parse.urlparse(u).netloc
        for u in (
            redirect,
            FEATURES["slash_commands"][0]["url"],
            SETTINGS["event_subscriptions"]["request_url"],
            SETTINGS["interactivity"]["request_url"],
        )
    }
    assert hosts == {"papers.example.com"}  # the one host README step 1 says to replace


def test_an_admin_opening_the_request_url_in_a_browser_sees_the_app_is_up(slack):
    # It answered "Not Found": the URL looked wrong, though Slack's POSTs reached the app.
    served = urllib.parse.urlparse(slack.app_url)
    url = (
        f"{served.scheme}://{served.netloc}{_path(SETTINGS['event_subscriptions']['request_url'])}"
    )
    for where in (url, f"{served.scheme}://{served.netloc}/"):
        with urllib.request.urlopen(where, timeout=10) as answer:
            assert answer.status == 200
            assert answer.read().decode().startswith("papers is running")
