"""Forged and replayed requests are refused and change nothing."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.parse
import urllib.request

import pytest

from storage import connect
from tests.bot.conftest import wait_for


def command_body(text: str, response_url: str) -> str:
    return urllib.parse.urlencode(
        {
            "team_id": "T0LOCAL",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": "U0LOCAL",
            "command": "/papers",
            "text": text,
            "response_url": response_url,
            "trigger_id": "t",
        }
    )


def subscription_count(config) -> int:
    return connect(config.db_path)["subscriptions"].count


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(
            lambda s, b: {**s.sign(b), "X-Slack-Signature": "v0=" + "0" * 64}, id="forged"
        ),
        pytest.param(lambda s, b: s.sign(b, timestamp=int(time.time()) - 6 * 60), id="replayed"),
        pytest.param(lambda s, b: s.sign(b, timestamp=int(time.time()) + 6 * 60), id="future"),
        pytest.param(
            lambda s, b: {"Content-Type": "application/x-www-form-urlencoded"}, id="unsigned"
        ),
        pytest.param(
            lambda s, b: {
                **s.sign(b),
                "X-Slack-Signature": s.sign(b)["X-Slack-Signature"].replace("v0=", "v1="),
            },
            id="wrong-version",
        ),
    ],
)
def test_bad_signatures_get_401_and_store_nothing(slack, config, headers):
    response_id, response_url = slack.new_response_url()
    body = command_body("subscribe lora daily", response_url)
    status, _ = slack.send(body, headers(slack, body))
    # 401 is Bolt refusing before any listener runs (an accepted command is acked with 200).
    assert status == 401
    ok = slack.command("help")
    assert ok["status"] == 200  # and the server still answers
    assert subscription_count(config) == 0
    assert slack.responses(response_id) == []


def test_signed_body_that_was_tampered_with_is_refused(slack, config):
    _, response_url = slack.new_response_url()
    body = command_body("help", response_url)
    headers = slack.sign(body)
    status, _ = slack.send(command_body("subscribe lora daily", response_url), headers)
    assert status == 401 and subscription_count(config) == 0


def test_a_replayed_subscribe_after_unsubscribe_changes_nothing(slack, config, reply):
    _, response_url = slack.new_response_url()
    body = command_body("subscribe lora daily", response_url)
    headers = slack.sign(body)
    assert slack.send(body, headers)[0] == 200
    wait_for(lambda: subscription_count(config) == 1)
    assert "Removed 1 subscription" in reply("unsubscribe lora")["text"]
    assert subscription_count(config) == 0
    status, text = slack.send(body, headers)  # the same signed request, within 5 minutes
    assert status == 200 and text == ""
    assert "No subscriptions yet" in reply("list")["text"]
    assert subscription_count(config) == 0


def test_a_retried_event_is_acknowledged_once(slack, config):
    body = json.dumps(
        {
            "team_id": "T0LOCAL",
            "type": "event_callback",
            "event_id": "Ev0RETRY",
            "event": {"type": "app_uninstalled"},
        }
    )
    assert slack.send(body, {**slack.sign(body), "Content-Type": "application/json"})[0] == 200
    wait_for(lambda: team_status(config) == "app uninstalled")
    connect(config.db_path)["teams"].update("T0LOCAL", {"status": "active"})
    # Slack's retry of the same event is signed anew (new timestamp), with X-Slack-Retry-Num.
    headers = {**slack.sign(body), "Content-Type": "application/json", "X-Slack-Retry-Num": "1"}
    with urllib.request.urlopen(
        urllib.request.Request(slack.app_url, body.encode(), headers, method="POST"), timeout=10
    ) as response:
        assert response.status == 200 and response.headers["X-Slack-No-Retry"] == "1"
    assert team_status(config) == "active"


def team_status(config) -> str | None:
    row = next(connect(config.db_path)["teams"].rows_where("team_id = 'T0LOCAL'"), None)
    return row["status"] if row else None


def test_a_command_is_acknowledged_while_an_ingest_holds_the_write_lock(slack, config):
    """An ingest batch holds SQLite's write lock for seconds at 1M papers (bench: up to
    6 s), and the replay check waited for it: the ack came after Slack's 3 s, and the
    member saw the command fail. The ack comes while the lock is held, and the same signed
    request sent again is still acknowledged without acting."""
    holder = sqlite3.connect(config.db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # as an ingest batch's writes take it
    answered, released = threading.Event(), threading.Event()

    def release() -> None:
        answered.wait(10)  # never held for ever: the old code waited for this
        holder.execute("ROLLBACK")
        released.set()

    releaser = threading.Thread(target=release)
    releaser.start()
    _, response_url = slack.new_response_url()
    body = command_body("subscribe lora daily", response_url)
    headers = slack.sign(body)
    status = slack.send(body, headers)[0]
    acked_under_the_lock = not released.is_set()
    answered.set()
    releaser.join()
    holder.close()
    assert status == 200 and acked_under_the_lock
    wait_for(lambda: subscription_count(config) == 1)  # done once the lock was free
    assert slack.send(body, headers) == (200, "")  # a replay, still
    assert subscription_count(config) == 1
