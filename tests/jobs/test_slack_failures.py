"""Slack failing in every way it does: 500s, timeouts, bad auth, rate limits, uninstalls."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from bot import views
from jobs.delivery import MAX_ATTEMPTS, deliver_due
from jobs.slack import client_factory
from storage import connect, teams
from storage import deliveries as ledger
from storage import subscriptions as subs
from storage.config import Config
from tests.bot.conftest import wait_for
from tests.conftest import add_subscription, count, install

START = datetime(2026, 3, 16, 12, tzinfo=UTC)
DUE = datetime(2026, 3, 17, 8, 1, tzinfo=UTC)


def deliver(config, now):
    return deliver_due(connect(config.db_path), config, client_factory(config), now)


def test_server_errors_are_retried_and_deliver_once(worker_config, subscribe, stub):
    subscribe(START)
    stub.state.http_fail_next["chat.postMessage"] = [500, 503]
    count("faults injected", 2)
    assert deliver(worker_config, DUE) == Counter(sent=1)
    assert len(stub.messages("DU0LOCAL")) == 1


def test_timeout_after_slack_stored_the_message_is_recovered_not_reposted(
    worker_config, subscribe, stub
):
    config = replace(worker_config, slack_timeout_seconds=1)
    subscribe(START)
    stub.state.post_delay = 2.5  # Slack keeps the message but answers too late
    count("faults injected")
    assert deliver(config, DUE) == Counter(retry=1)
    stub.state.post_delay = 0
    assert deliver(config, DUE + timedelta(minutes=1)) == Counter(pending=1)  # backing off
    assert deliver(config, DUE + timedelta(minutes=3)) == Counter(recovered=1)
    assert len(stub.messages("DU0LOCAL")) == 1


def test_a_reply_lost_after_slack_took_the_message_is_recovered_not_reposted(
    worker_config, subscribe, stub
):
    """The connection dropped after Slack stored the digest: the client must not post it
    again blindly (that is the ledger's job, which looks in the channel first)."""
    subscribe(START)
    stub.state.hang_up_after_post = 1
    count("faults injected")
    deliver(worker_config, DUE)
    assert len(stub.messages("DU0LOCAL")) == 1  # posted twice by the client's own retry
    assert deliver(worker_config, DUE + timedelta(minutes=3)) == Counter(recovered=1)
    assert len(stub.messages("DU0LOCAL")) == 1


def test_invalid_auth_pauses_without_a_retry_storm(worker_config, subscribe, stub):
    config = replace(worker_config, slack_bot_token="xoxb-revoked")
    subscribe(START)
    count("faults injected")
    assert deliver(config, DUE) == Counter(paused=1)
    # A dead token stops the whole team, resumed by a reinstall (tests/bot/test_lifecycle.py).
    assert subs.by_id(connect(config.db_path), 1).paused_reason == "bot token refused by Slack"
    calls = len(stub.state.calls)
    for minute in range(1, 30):
        deliver(config, DUE + timedelta(minutes=minute))
    assert len(stub.state.calls) == calls


def test_rate_limited_past_the_retry_budget_is_delivered_later_once(worker_config, subscribe, stub):
    subscribe(START)
    stub.state.force_429, stub.state.retry_after = 7, 0  # more 429s than one call retries
    count("faults injected", 7)
    assert deliver(worker_config, DUE) == Counter(retry=1)
    assert deliver(worker_config, DUE + timedelta(minutes=3)) == Counter(sent=1)
    assert len(stub.messages("DU0LOCAL")) == 1 and stub.state.force_429 == 0


def test_retries_are_bounded_and_logged(worker_config, subscribe, stub, caplog):
    subscribe(START)
    stub.state.fail_next["chat.postMessage"] = ["internal_error"] * 10
    count("faults injected", MAX_ATTEMPTS)
    outcomes: Counter = Counter()
    with caplog.at_level(logging.WARNING):
        for step in range(12):
            outcomes += deliver(worker_config, DUE + timedelta(minutes=20 * step))
    assert outcomes["failed"] == 1 and outcomes["retry"] == MAX_ATTEMPTS - 1
    assert "giving up on 2026-03-17 after 5 attempts (internal_error)" in caplog.text
    assert [r["state"] for r in ledger.ledger(connect(worker_config.db_path))][0] == "failed"
    assert stub.messages() == []


@pytest.mark.parametrize(
    "error",
    ["invalid_blocks", "invalid_blocks_format", "msg_too_long", "invalid_arguments"],
)
def test_a_message_slack_refuses_for_good_is_recorded_once_and_not_retried(
    worker_config, subscribe, stub, caplog, error
):
    """A digest Slack refuses for what it is (no retry can change it) was posted again and
    again, up to MAX_ATTEMPTS times: each request refused once more."""
    subscribe(START)
    stub.state.fail_next["chat.postMessage"] = [error] * 10
    count("faults injected")
    with caplog.at_level(logging.WARNING):
        outcomes = deliver(worker_config, DUE)
        for step in range(1, 12):  # the next four hours of delivery runs
            outcomes += deliver(worker_config, DUE + timedelta(minutes=20 * step))
    assert outcomes == Counter(refused=1)
    posts = [c for c in stub.state.calls if c[0] == "chat.postMessage"]
    assert len(posts) == 1 and stub.messages() == []
    assert f"Slack refused the message for 2026-03-17 ({error}); not sent" in caplog.text
    db = connect(worker_config.db_path)
    assert [(r["state"], r["detail"]) for r in ledger.ledger(db)] == [
        ("failed", f"Slack refused it: {error}")
    ]
    sub = subs.by_id(db, 1)
    assert sub.status == "active"  # the subscription is kept, still due
    # App Home's line for it, where every failed delivery shows with its reason:
    assert views.delivery_status(sub, subs.last_delivery(db, 1)).startswith(
        f"last digest failed (Slack refused it: {error}): "
    )
    stub.state.fail_next.clear()
    assert deliver(worker_config, DUE + timedelta(days=1)) == Counter(sent=1)
    assert len(stub.messages("DU0LOCAL")) == 1


@pytest.mark.parametrize(
    ("error", "first", "reason"),
    [
        # auth.test accepts the token: the refusal was a one-off, retried like any failure.
        pytest.param("invalid_auth", Counter(retry=1), None, id="invalid_auth-once"),
        pytest.param("token_revoked", Counter(retry=1), None, id="token_revoked-once"),
        # The token works, so this is about the call, not the workspace: that one pauses.
        pytest.param(
            "account_inactive",
            Counter(paused=1),
            "Slack said account_inactive",
            id="account_inactive-token-works",
        ),
    ],
)
def test_a_token_refusal_that_auth_test_contradicts_does_not_stop_the_workspace(
    worker_config, subscribe, stub, error, first, reason
):
    """One `invalid_auth` on a working token stopped the whole workspace ("bot token refused
    by Slack" on every subscription) until someone typed a command. auth.test now confirms
    that the token is dead before the team stops."""
    subscribe(START)
    other = subscribe(START, target="C0GENERAL", kind="channel")
    stub.state.fail_next["conversations.open"] = [error]
    count("faults injected")
    assert deliver(worker_config, DUE) == first + Counter(sent=1)
    db = connect(worker_config.db_path)
    assert teams.status(db, stub.team_id) == teams.ACTIVE
    assert subs.by_id(db, other.id).status == "active"
    assert subs.by_id(db, 1).paused_reason == reason
    later = deliver(worker_config, DUE + timedelta(minutes=3))
    assert later == (Counter(sent=1) if reason is None else Counter())
    assert len(stub.messages("DU0LOCAL")) == (1 if reason is None else 0)


def oauth_worker(seeded_path, stub) -> Config:
    """A worker of an OAuth deployment: each workspace's token from the encrypted store."""
    return Config(
        db_path=str(seeded_path),
        slack_signing_secret="unused",
        slack_client_id="111.222",
        slack_client_secret="not-a-real-secret",
        token_key=Fernet.generate_key().decode(),
        slack_api_url=stub.api_url,
        empty_digest="note",
    )


def test_a_reinstall_during_a_delivery_run_does_not_stop_the_workspace(seeded_path, stub):
    """The run read the workspace's token; the workspace installed the app again meanwhile
    (a new token stored, the old one revoked), and the run's next post got invalid_auth:
    the worker stopped the whole workspace with a token that was no longer its token. Now
    it sends with the token the store holds now, and the workspace stays served."""
    config = oauth_worker(seeded_path, stub)
    install(config, stub.team_id, stub.token)
    for words in ("lora", "diffusion"):  # one channel: delivered one after the other
        subscribe_to(config, stub, words)
    stub.state.hold_after = 0  # the first digest is stored, its answer held back
    outcomes: list[Counter] = []
    run = threading.Thread(
        target=lambda: outcomes.append(deliver(config, DUE)), name="delivery-run"
    )
    run.start()
    try:
        wait_for(lambda: len(stub.messages("C0GENERAL")) == 1)
        # The reinstall lands mid-run: Slack revokes the old token, the bot stores the new.
        team = stub.state.tokens.pop(stub.token)
        renewed = "xoxb-" + uuid.uuid4().hex  # made here: no token-like literal
        stub.state.tokens[renewed] = team
        install(config, stub.team_id, renewed)
    finally:
        stub.release_posts()
        run.join(timeout=60)
    assert outcomes == [Counter(sent=2)]
    assert len(stub.messages("C0GENERAL")) == 2
    db = connect(config.db_path)
    assert teams.status(db, stub.team_id) == teams.ACTIVE
    assert [s.status for s in subs.visible_to(db, stub.team_id, "U0LOCAL")] == ["active"] * 2


def subscribe_to(config: Config, stub, keywords: str) -> subs.Subscription:
    """A daily channel digest in #general of the stand-in's workspace."""
    db = connect(config.db_path)
    try:
        return add_subscription(
            db,
            stub.team_id,
            now=START,
            user_id="U0LOCAL",
            target="C0GENERAL",
            kind="channel",
            tz="Europe/Berlin",
            keywords=keywords,
        )
    finally:
        db.close()
