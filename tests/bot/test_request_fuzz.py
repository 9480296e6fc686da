"""Hostile requests against the running app: 4xx, nothing stored, still answering after."""

from __future__ import annotations

import json
import logging
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import connect
from tests.bot.conftest import wait_for
from tests.conftest import count


def stored(config) -> tuple[int, int]:
    db = connect(config.db_path)
    try:
        return db["subscriptions"].count, db["deliveries"].count
    finally:
        db.close()


def subscribe_body(response_url: str = "http://127.0.0.1:9/r") -> str:
    return urllib.parse.urlencode(
        {
            "team_id": "T0LOCAL",
            "channel_id": "C0GENERAL",
            "user_id": "U0LOCAL",
            "command": "/papers",
            "text": "subscribe lora daily",
            "response_url": response_url,
        }
    )


SIGNED_BAD = [
    pytest.param("payload=%7B%7B%7B", "application/x-www-form-urlencoded", id="payload-not-json"),
    pytest.param(
        "payload=" + urllib.parse.quote(json.dumps({"type": "weird_type"})),
        "application/x-www-form-urlencoded",
        id="unknown-payload-type",
    ),
    pytest.param(
        json.dumps({"type": "event_callback", "event": {"type": "unknown_event"}}),
        "application/json",
        id="unknown-event",
    ),
    pytest.param("%%%&&&===", "application/x-www-form-urlencoded", id="invalid-form-encoding"),
    pytest.param(
        "\udcff".encode("utf-8", "surrogateescape").decode("latin-1") * 10,
        "application/x-www-form-urlencoded",
        id="not-utf8",
    ),
    pytest.param("{not json", "application/json", id="invalid-json"),
    # What the red team sent (issue 13): each was a 500 with a traceback.
    *[
        pytest.param(body, "application/json", id=f"json-{name}")
        for name, body in [("list", "[1, 2]"), ("string", '"x"'), ("number", "5"), ("null", "null")]
    ],
    pytest.param('{"type": "x"}', "application/x-www-form-urlencoded", id="form-body-is-json"),
    pytest.param("payload=", "application/x-www-form-urlencoded", id="empty-payload"),
    pytest.param(
        "payload=%7B%7D&payload=garbage", "application/x-www-form-urlencoded", id="two-payloads"
    ),
    *[
        pytest.param(
            "payload=" + urllib.parse.quote(value),
            "application/x-www-form-urlencoded",
            id=f"payload-{name}",
        )
        for name, value in [("list", "[1]"), ("number", "7"), ("null", "null")]
    ],
    pytest.param(
        "payload="
        + urllib.parse.quote(json.dumps({"type": "block_actions", "user": 5, "actions": []})),
        "application/x-www-form-urlencoded",
        id="payload-user-is-a-number",
    ),
    pytest.param(
        json.dumps({"type": "event_callback", "event": [1], "event_id": "Ev1"}),
        "application/json",
        id="event-is-a-list",
    ),
]


@pytest.mark.parametrize(("body", "content_type"), SIGNED_BAD)
def test_signed_garbage_is_a_4xx_without_a_traceback(slack, config, caplog, body, content_type):
    caplog.set_level(logging.DEBUG)
    status, _ = slack.send(body, {**slack.sign(body), "Content-Type": content_type})
    count("hostile requests")
    assert 400 <= status < 500
    assert stored(config) == (0, 0)
    help_ = slack.command("help")
    assert help_["status"] == 200
    wait_for(lambda: slack.responses(help_["response_id"]))  # nothing left running after
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text


def test_one_megabyte_body_is_refused(slack, config):
    body = subscribe_body() + "&pad=" + "x" * 1_000_000
    status, _ = slack.send(body)
    count("hostile requests")
    assert status == 413 and stored(config) == (0, 0)
    assert slack.command("help")["status"] == 200


# What an HTTP client can put in a header: Latin-1, no line breaks.
LATIN = st.characters(min_codepoint=33, max_codepoint=255, exclude_characters="\x7f")
HEADER = st.one_of(
    st.none(), st.text(LATIN, max_size=80), st.from_regex(r"v[0-9]=[0-9a-f]{0,70}", fullmatch=True)
)
STAMP = st.one_of(st.none(), st.text(LATIN, max_size=12), st.integers(-(10**12), 10**12).map(str))


@pytest.mark.fuzz
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(signature=HEADER, timestamp=STAMP)
def test_malformed_signature_headers_are_refused(slack, config, signature, timestamp):
    body = subscribe_body()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    status, _ = slack.send(body, headers)
    count("hostile requests")
    assert status in (400, 401)
    assert stored(config) == (0, 0)


def test_commands_past_the_per_user_limit_get_a_friendly_reply(slack, config):
    replies = []
    for _ in range(config.commands_per_minute + 2):
        sent = slack.command("list")
        replies.append(sent["response_id"])
        count("hostile requests")
    texts = [
        wait_for(lambda rid=rid: [p for p in slack.responses(rid) if p["_via"] == "response_url"])[
            0
        ]["text"]
        for rid in replies
    ]
    limited = [t for t in texts if "faster than 20 a minute" in t]
    assert len(limited) == 2 and texts[-1] == limited[-1]
    other = slack.command("list", user="U0SOMEONE")  # other users are not affected
    reply = wait_for(
        lambda: [p for p in slack.responses(other["response_id"]) if p["_via"] == "response_url"]
    )
    assert "faster than" not in reply[0]["text"]
