"""The real Bolt app served over HTTP, with the local Slack stand-in as Slack."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from bot.app import build_app, make_http_server
from slackstub import SlackStandIn
from storage.config import Config

SECRET = "test-signing-secret"


def wait_for(probe: Callable[[], object], timeout: float = 10.0) -> object:
    """Wait for the app's asynchronous reply (it answers after the ack); fail after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("the app did not answer in time")


@pytest.fixture
def standin():
    stub = SlackStandIn(signing_secret=SECRET).start()
    stub.add_user("U0LOCAL", "you", tz="America/New_York")
    yield stub
    stub.stop()


@pytest.fixture
def config(seeded_path, standin) -> Config:
    return Config(
        db_path=str(seeded_path),
        slack_bot_token=standin.token,
        slack_signing_secret=SECRET,
        slack_api_url=standin.api_url,
    )


@pytest.fixture
def lookup():
    """What the app fetches unknown pasted papers with (None: it does not); see test_unfurl."""
    return None


@pytest.fixture
def slack(config, standin, lookup):
    """The stand-in, pointed at a running app; use .command(), .click(), .event()."""
    app = build_app(config, lookup)
    server = make_http_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    standin.app_url = f"http://127.0.0.1:{server.server_port}/slack/events"
    yield standin
    server.shutdown()
    server.server_close()


@pytest.fixture
def reply(slack):
    """Send a command and return the app's reply (the first response_url post)."""

    def send(text: str, **kwargs) -> dict:
        sent = slack.command(text, **kwargs)
        assert sent["status"] == 200, sent
        posts = wait_for(
            lambda: [p for p in slack.responses(sent["response_id"]) if p["_via"] == "response_url"]
        )
        return posts[0]

    return send


def listed_ids(message: dict) -> list[int]:
    """The subscription ids a /papers list reply shows (its `*#3*` lines), in order."""
    import json
    import re

    return [int(n) for n in re.findall(r"\*#(\d+)\*", json.dumps(message.get("blocks", [])))]


def page_through_list(slack, first: dict, channel: str = "C0GENERAL") -> list[dict]:
    """A /papers list reply and every page its Next button reaches, as a member clicks."""
    pages = [first]
    while any(
        e.get("action_id") == "list_next"
        for b in pages[-1]["blocks"]
        for e in b.get("elements", [])
    ):
        assert len(pages) < 20, "Next never stops"
        clicked = slack.click(pages[-1], "list_next", channel=channel)
        assert clicked["status"] == 200
        pages.append(wait_for(lambda c=clicked: slack.responses(c["response_id"]))[0])
    return pages
