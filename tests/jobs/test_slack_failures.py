"""Slack failing in every way it does: 500s, timeouts, bad auth, rate limits, uninstalls."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot import views
from jobs.delivery import MAX_ATTEMPTS, deliver_due
from jobs.slack import client_factory
from storage import connect
from storage import deliveries as ledger
from storage import subscriptions as subs
from tests.conftest import count

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
