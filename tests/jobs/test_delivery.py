"""Digests at each subscriber's local time, exactly once, across DST, restarts and failures."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot import views
from jobs import worker
from jobs.delivery import Outcome, deliver_digest, deliver_due
from jobs.slack import client_factory, open_channel, post
from slackstub.limits import validate_blocks
from storage import connect, teams
from storage import deliveries as ledger
from storage import subscriptions as subs
from storage.config import Config
from storage.trending import trending

BERLIN = ZoneInfo("Europe/Berlin")


def run_clock(config, start: datetime, end: datetime, step: timedelta) -> None:
    """Run the real delivery job at every step, with the clock moved by time-machine."""
    moment = start
    while moment <= end:
        with time_machine.travel(moment, tick=False):
            worker.deliver(config)
        moment += step


def sent_rows(config) -> list[dict]:
    db = connect(config.db_path)
    return [r for r in ledger.ledger(db) if r["state"] == "sent"]


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(datetime(2026, 3, 26, tzinfo=UTC), id="spring-forward"),
        pytest.param(datetime(2026, 10, 22, tzinfo=UTC), id="fall-back"),
    ],
)
def test_daily_berlin_digest_once_per_local_day_across_dst(worker_config, subscribe, stub, start):
    subscribe(start, frequency="daily", at_time="09:00", tz="Europe/Berlin")
    run_clock(worker_config, start, start + timedelta(days=7), timedelta(minutes=10))
    rows = sent_rows(worker_config)
    days = [r["period"] for r in rows]
    assert days == sorted(set(days)) and len(days) == 7
    for row in rows:
        local = datetime.fromisoformat(row["claimed_at"]).astimezone(BERLIN)
        assert (local.hour, local.minute // 10) == (9, 0), row
    assert len(stub.messages("DU0LOCAL")) == 7


def test_weekly_monday_digest_once_a_week(worker_config, subscribe, stub):
    start = datetime(2026, 3, 1, tzinfo=UTC)
    subscribe(start, frequency="weekly", weekday=0, at_time="08:00", tz="America/New_York")
    run_clock(worker_config, start, start + timedelta(days=35), timedelta(minutes=30))
    rows = sent_rows(worker_config)
    assert [r["period"] for r in rows] == [
        "2026-W10",
        "2026-W11",
        "2026-W12",
        "2026-W13",
        "2026-W14",
    ]
    for row in rows:
        local = datetime.fromisoformat(row["claimed_at"]).astimezone(ZoneInfo("America/New_York"))
        assert local.weekday() == 0 and local.hour == 8
    assert len(stub.messages("DU0LOCAL")) == 5


def test_digest_content_never_repeats_a_paper(worker_config, subscribe, stub):
    start = datetime(2026, 3, 17, 7, tzinfo=UTC)
    subscribe(start, target="C0GENERAL", kind="channel")
    run_clock(worker_config, start, start + timedelta(days=3), timedelta(hours=1))
    messages = stub.messages("C0GENERAL")
    assert len(messages) == 3
    first, second, third = (m["blocks"] for m in messages)
    titles = [
        [b["text"]["text"].split("|")[-1] for b in blocks if b["type"] == "section"]
        for blocks in (first, second)
    ]
    assert len(titles[0]) == 5 and not set(titles[0]) & set(titles[1])
    assert first[0]["type"] == "header" and first[0]["text"]["text"] == "Daily papers · Tue, Mar 17"
    assert first[-1]["elements"][0]["action_id"] == "digest_manage"


def test_catch_up_within_grace_once_and_skip_beyond(worker_config, subscribe, stub):
    start = datetime(2026, 3, 16, 12, tzinfo=UTC)
    subscribe(start)  # due Mar 17 08:00 UTC (09:00 Berlin)
    db = connect(worker_config.db_path)
    clients = client_factory(worker_config)
    late = datetime(2026, 3, 17, 10, 30, tzinfo=UTC)  # down for 2.5 h; grace is 3 h
    assert deliver_due(db, worker_config, clients, late) == Counter(sent=1)
    assert deliver_due(db, worker_config, clients, late + timedelta(minutes=1)) == Counter()
    very_late = datetime(2026, 3, 18, 14, tzinfo=UTC)  # Mar 18 digest missed by 6 h
    assert deliver_due(db, worker_config, clients, very_late) == Counter(skipped=1)
    skipped = [r for r in ledger.ledger(db) if r["state"] == "skipped"]
    assert skipped[0]["period"] == "2026-03-18" and "missed by 360 min" in skipped[0]["detail"]
    assert len(stub.messages("DU0LOCAL")) == 1
    sub = subs.by_id(db, 1)
    assert sub.next_due_at == "2026-03-19T08:00:00+00:00"


def test_crash_between_post_and_confirm_is_recovered_without_a_second_post(
    worker_config, subscribe, stub
):
    start = datetime(2026, 3, 16, 12, tzinfo=UTC)
    sub = subscribe(start)
    db = connect(worker_config.db_path)
    now = datetime.fromisoformat(sub.next_due_at)
    client = client_factory(worker_config)(stub.team_id)
    # What a worker killed right after Slack accepted the message leaves behind:
    claim = ledger.claim(db, sub.id, sub.schedule.period(now), now)
    channel = open_channel(client, sub.kind, sub.target)
    ledger.prepare(db, claim, {"text": "digest", "blocks": []}, [1, 2])
    ledger.set_channel(db, claim, channel)
    post(client, channel, {"text": "digest", "blocks": []}, f"{sub.id}:{claim.period}")
    outcomes = deliver_due(
        db, worker_config, client_factory(worker_config), now + timedelta(minutes=1)
    )
    assert outcomes == Counter(recovered=1)
    assert len(stub.messages(channel)) == 1
    assert ledger.sent_paper_ids(db, sub.id) == {1, 2}
    assert subs.by_id(db, sub.id).next_due_at == "2026-03-18T08:00:00+00:00"


def test_crash_before_post_sends_the_stored_message(worker_config, subscribe, stub):
    sub = subscribe(datetime(2026, 3, 16, 12, tzinfo=UTC))
    db = connect(worker_config.db_path)
    now = datetime.fromisoformat(sub.next_due_at)
    claim = ledger.claim(db, sub.id, sub.schedule.period(now), now)
    ledger.prepare(db, claim, {"text": "stored digest", "blocks": []}, [3])
    ledger.set_channel(db, claim, "DU0LOCAL")
    assert deliver_due(db, worker_config, client_factory(worker_config), now) == Counter(sent=1)
    assert [m["text"] for m in stub.messages("DU0LOCAL")] == ["stored digest"]


@pytest.mark.parametrize(
    "error",
    ["channel_not_found", "not_in_channel", "is_archived", "restricted_action_read_only_channel"],
)
def test_permanent_errors_pause_with_reason_and_others_still_deliver(
    worker_config, subscribe, stub, error
):
    start = datetime(2026, 3, 16, 12, tzinfo=UTC)
    stub.add_channel("C0BROKEN", "broken", error=error)
    subscribe(start, target="C0BROKEN", kind="channel")
    subscribe(start, target="C0GENERAL", kind="channel")
    db = connect(worker_config.db_path)
    due = datetime(2026, 3, 17, 8, 1, tzinfo=UTC)
    assert deliver_due(db, worker_config, client_factory(worker_config), due) == Counter(
        paused=1, sent=1
    )
    broken = subs.by_id(db, 1)
    assert (broken.status, broken.paused_reason) == ("paused", f"Slack said {error}")
    # Its owner is told by DM, once, with what to do: nobody reads a digest that never comes.
    (notice,) = stub.messages("DU0LOCAL")
    assert "Your digest *#1* for <#C0BROKEN> is paused" in notice["text"]
    assert "`/papers resume 1`" in notice["text"]
    calls_before = len(stub.state.calls)
    deliver_due(db, worker_config, client_factory(worker_config), due + timedelta(days=1))
    assert not [c for c in stub.state.calls[calls_before:] if c[1].get("channel") == "C0BROKEN"]
    assert len(stub.messages("DU0LOCAL")) == 1


def test_a_digest_paused_while_recovered_after_an_outage_tells_its_owner_too(
    worker_config, subscribe, stub
):
    # A crash left a prepared digest; the worker came back past the next slot and the
    # channel was gone meanwhile: that path paused it without a word to its owner.
    start = datetime(2026, 3, 16, 12, tzinfo=UTC)
    sub = subscribe(start, target="C0GENERAL", kind="channel", tz="UTC")
    db = connect(worker_config.db_path)
    due = datetime.fromisoformat(sub.next_due_at)
    claim = ledger.claim(db, sub.id, sub.schedule.period(due), due)
    ledger.prepare(db, claim, {"text": "stored digest", "blocks": []}, [3])
    ledger.set_channel(db, claim, "C0GENERAL")
    stub.state.fail_next["conversations.history"] = ["channel_not_found"]
    deliver_due(db, worker_config, client_factory(worker_config), due + timedelta(days=1, hours=1))
    assert subs.by_id(db, sub.id).paused_reason == "Slack said channel_not_found"
    (notice,) = stub.messages("DU0LOCAL")
    assert f"Your digest *#{sub.id}* for <#C0GENERAL> is paused" in notice["text"]


def test_a_refusal_a_reinstall_fixes_pauses_without_a_notice(worker_config, subscribe, stub):
    # `missing_scope`: the reinstall resumes it by itself; "resume" would only fail again.
    stub.add_channel("C0SCOPE", "scope", error="missing_scope")
    subscribe(datetime(2026, 3, 16, 12, tzinfo=UTC), target="C0SCOPE", kind="channel")
    db = connect(worker_config.db_path)
    deliver_due(
        db, worker_config, client_factory(worker_config), datetime(2026, 3, 17, 8, 1, tzinfo=UTC)
    )
    assert subs.by_id(db, 1).paused_reason == "Slack said missing_scope"
    assert stub.messages("DU0LOCAL") == []


def test_deactivated_user_pauses_their_dm_subscription(worker_config, subscribe, stub):
    stub.add_user("U0GONE", "gone", deleted=True)
    subscribe(datetime(2026, 3, 16, 12, tzinfo=UTC), user_id="U0GONE", target="U0GONE")
    db = connect(worker_config.db_path)
    deliver_due(
        db, worker_config, client_factory(worker_config), datetime(2026, 3, 17, 8, 1, tzinfo=UTC)
    )
    # conversations.open's word for a deactivated member (account_inactive is the token's).
    assert subs.by_id(db, 1).paused_reason == "Slack said user_disabled"


def test_a_dm_digest_opens_its_dm_once_not_every_day(worker_config, subscribe, stub):
    """conversations.open is Tier 3 (about 50 a minute per workspace): hundreds of DM digests
    due at 09:00, each opening its DM again every day, met its 429s and came minutes late.
    The DM a digest went to is used again."""
    subscribe(datetime(2026, 3, 16, 12, tzinfo=UTC))
    db = connect(worker_config.db_path)
    for day in (17, 18, 19):
        now = datetime(2026, 3, day, 8, 1, tzinfo=UTC)
        assert deliver_due(db, worker_config, client_factory(worker_config), now) == Counter(sent=1)
    assert [m for m, _ in stub.state.calls].count("conversations.open") == 1
    assert len(stub.messages("DU0LOCAL")) == 3


def test_a_dm_kept_from_an_earlier_digest_that_is_gone_is_opened_again(
    worker_config, subscribe, stub
):
    """The DM a digest went to is used again; one Slack no longer knows (channel_not_found)
    must not pause the subscription for good, as a channel's does: it is opened again."""
    sub = subscribe(datetime(2026, 3, 16, 12, tzinfo=UTC))
    db = connect(worker_config.db_path)
    deliver = lambda day: deliver_due(  # noqa: E731
        db, worker_config, client_factory(worker_config), datetime(2026, 3, day, 8, 1, tzinfo=UTC)
    )
    assert deliver(17) == Counter(sent=1)
    db.execute("UPDATE deliveries SET channel = 'D0GONE' WHERE subscription_id = ?", [sub.id])
    db.conn.commit()
    assert deliver(18) == Counter(sent=1)
    assert len(stub.messages("DU0LOCAL")) == 2
    assert subs.get(db, sub.team_id, sub.id).status == "active"


def test_a_stopped_run_logs_the_digests_it_left_due(worker_config, subscribe, stub, caplog):
    """A worker stopped mid-fan-out logged only what it sent: the digests it left due for the
    next worker went unsaid, and a stop looked like a run that had finished."""
    for n in range(3):
        stub.add_channel(f"C0STOP{n}", f"stop{n}")
        subscribe(datetime(2026, 3, 16, 12, tzinfo=UTC), target=f"C0STOP{n}", kind="channel")
    stopping = threading.Event()
    stopping.set()
    db = connect(worker_config.db_path)
    now = datetime(2026, 3, 17, 8, 1, tzinfo=UTC)
    with caplog.at_level(logging.INFO, logger="jobs.delivery"):
        assert deliver_due(db, worker_config, client_factory(worker_config), now, stopping) == {}
    assert "stopping: 3 due digests not begun" in caplog.text
    assert stub.messages() == []
    assert len(subs.due(db, now)) == 3  # still due, for the next worker


def test_rate_limited_delivery_slows_down_and_loses_nothing(worker_config, subscribe, stub):
    start = datetime(2026, 3, 16, 12, tzinfo=UTC)
    for n in range(3):
        stub.add_channel(f"C0RATE{n}", f"rate{n}")
        subscribe(start, target=f"C0RATE{n}", kind="channel")
    stub.state.force_429, stub.state.retry_after = 2, 1
    db = connect(worker_config.db_path)
    outcomes = deliver_due(
        db, worker_config, client_factory(worker_config), datetime(2026, 3, 17, 8, 1, tzinfo=UTC)
    )
    assert outcomes == Counter(sent=3)
    assert stub.state.force_429 == 0  # both 429s were served and honoured
    assert [len(stub.messages(f"C0RATE{n}")) for n in range(3)] == [1, 1, 1]


def test_nothing_new_sends_no_message_when_configured_to_skip(worker_config, subscribe, stub):
    config = worker_config.__class__(**{**worker_config.__dict__, "empty_digest": "skip"})
    subscribe(datetime(2026, 3, 16, 12, tzinfo=UTC), keywords="quantum chromodynamics")
    db = connect(config.db_path)
    outcome = deliver_due(
        db, config, client_factory(config), datetime(2026, 3, 17, 8, 1, tzinfo=UTC)
    )
    assert outcome == Counter(empty=1) and stub.messages() == []
    assert [(r["state"], r["detail"]) for r in ledger.ledger(db)] == [("skipped", "nothing new")]


def test_daily_digest_resumes_within_a_day_after_a_clock_jump_is_corrected(
    worker_config, subscribe, stub
):
    start = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    subscribe(start, frequency="daily", at_time="09:00", tz="UTC")
    jumped = start + timedelta(days=30)  # the clock jumps 30 days ahead, a digest goes out
    run_clock(worker_config, jumped, jumped + timedelta(days=1), timedelta(minutes=30))
    assert len(stub.messages("DU0LOCAL")) == 1
    # ...and is corrected: the next two days' digests arrive at 09:00 as before.
    run_clock(worker_config, start, start + timedelta(days=2), timedelta(minutes=30))
    periods = [r["period"] for r in sent_rows(worker_config)]
    assert sorted(periods) == ["2026-03-03", "2026-03-04", "2026-04-02"]
    assert len(stub.messages("DU0LOCAL")) == 3


@pytest.mark.parametrize(
    ("fields", "corrected_due", "periods"),
    [
        pytest.param(
            {"frequency": "daily"},
            "2026-03-03T09:00:00+00:00",
            ["2026-03-03", "2026-03-04"],
            id="daily",
        ),
        pytest.param(
            {"frequency": "weekly", "weekday": 0},
            "2026-03-09T09:00:00+00:00",
            [],  # next Monday's, a week on
            id="weekly",
        ),
    ],
)
def test_a_corrected_clock_jump_reschedules_once_to_the_first_slot_it_missed(
    worker_config, subscribe, stub, caplog, fields, corrected_due, periods
):
    """The jumped clock settled the next slot as missed; once the clock is right again the
    schedule goes straight back to that slot, with one warning: not a day or a week beyond
    it (and a second "clock jumped?" warning when pulled back), nor losing the weekly one."""
    start = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, after its 09:00
    sub = subscribe(start, at_time="09:00", tz="UTC", **fields)
    jumped = start + timedelta(days=30)
    run_clock(worker_config, jumped, jumped + timedelta(days=1), timedelta(hours=1))
    caplog.set_level(logging.WARNING, logger="jobs.delivery")
    caplog.clear()
    with time_machine.travel(start, tick=False):
        worker.deliver(worker_config)
    db = connect(worker_config.db_path)
    assert subs.by_id(db, sub.id).next_due_at == corrected_due
    run_clock(worker_config, start, start + timedelta(days=2), timedelta(hours=1))
    jumps = [r.getMessage() for r in caplog.records if "clock jumped" in r.getMessage()]
    assert len(jumps) == 1 and f"rescheduled for {corrected_due}" in jumps[0]
    corrected = [r for r in sent_rows(worker_config) if r["claimed_at"] < jumped.isoformat()]
    assert sorted(r["period"] for r in corrected) == periods


def test_a_digest_retried_after_its_schedule_changed_keeps_the_new_next_slot(
    worker_config, subscribe, stub, caplog
):
    """Today's 09:00 digest failed and waits for its retry; the member moves it to 10:00
    (next due tomorrow 10:00, today's being under way). The retry sends today's and leaves
    tomorrow's slot alone: it moved the schedule a day past it, and the catch-up check
    pulled it back with a "clock jumped?" warning the admin could make nothing of."""
    start = datetime(2026, 3, 17, 7, tzinfo=UTC)
    fields = {"tz": "UTC", "keywords": ""}
    sub = subscribe(start, at_time="09:00", **fields)
    db = connect(worker_config.db_path)
    clients = client_factory(worker_config)
    stub.state.fail_next["chat.postMessage"] = ["internal_error"]
    assert deliver_due(db, worker_config, clients, start.replace(hour=9)) == Counter(retry=1)
    moved = subscribe(start.replace(hour=9, minute=1), at_time="10:00", **fields)
    assert moved.next_due_at == "2026-03-18T10:00:00+00:00"
    caplog.set_level(logging.INFO, logger="jobs.delivery")
    retry = start.replace(hour=9, minute=5)
    assert deliver_due(db, worker_config, clients, retry) == Counter(sent=1)
    assert subs.by_id(db, sub.id).next_due_at == "2026-03-18T10:00:00+00:00"
    run_clock(worker_config, retry, retry + timedelta(days=1, hours=2), timedelta(hours=1))
    assert not [r for r in caplog.records if "clock jumped" in r.getMessage()]
    assert [(r["period"], r["finished_at"]) for r in sent_rows(worker_config)] == [
        ("2026-03-17", "2026-03-17T09:05:00+00:00"),
        ("2026-03-18", "2026-03-18T10:05:00+00:00"),
    ]


@pytest.mark.parametrize(
    ("before", "after", "tomorrow"),
    [
        pytest.param(
            {"frequency": "weekly", "weekday": 1},
            {"frequency": "daily"},
            "2026-03-18",
            id="weekly-to-daily",
        ),
        pytest.param(
            {"frequency": "daily"},
            {"frequency": "weekly", "weekday": 1},
            "2026-W13",
            id="daily-to-weekly",
        ),
    ],
)
def test_a_digest_retried_after_a_change_of_frequency_is_the_only_one_that_day(
    worker_config, subscribe, stub, before, after, tomorrow
):
    """Tuesday's 09:00 digest failed and waits for its retry; the member changes its
    frequency for 10:00. The retry sends it, and no second digest comes at 10:00 the same
    day: the first digest of the new schedule is the next one (as after a digest sent)."""
    start = datetime(2026, 3, 17, 7, tzinfo=UTC)  # a Tuesday
    fields = {"tz": "UTC", "keywords": ""}
    subscribe(start, at_time="09:00", **fields, **before)
    db = connect(worker_config.db_path)
    clients = client_factory(worker_config)
    stub.state.fail_next["chat.postMessage"] = ["internal_error"]
    assert deliver_due(db, worker_config, clients, start.replace(hour=9)) == Counter(retry=1)
    subscribe(start.replace(hour=9, minute=1), at_time="10:00", **fields, **after)
    retry = start.replace(hour=9, minute=5)
    assert deliver_due(db, worker_config, clients, retry) == Counter(sent=1)
    db.close()
    run_clock(worker_config, retry, retry + timedelta(days=7, hours=2), timedelta(hours=1))
    sent = [r["period"] for r in sent_rows(worker_config)]
    assert sent[1] == tomorrow and all(p != "2026-03-17" for p in sent[1:]), sent


@pytest.mark.parametrize(
    ("tz", "back"),
    [
        pytest.param("Europe/Berlin", datetime(2026, 3, 18, 9, 0, tzinfo=UTC), id="berlin-1h-late"),
        pytest.param(
            "Pacific/Kiritimati", datetime(2026, 3, 17, 20, 30, tzinfo=UTC), id="kiritimati-90m"
        ),
    ],
)
def test_worker_down_over_two_days_sends_the_digest_still_within_grace(
    worker_config, subscribe, stub, tz, back
):
    """Down from before one 09:00 to an hour after the next: the first is missed for good,
    but the second is within grace and arrives, once."""
    sub = subscribe(datetime(2026, 3, 16, 12, tzinfo=UTC), tz=tz)
    first_due = datetime.fromisoformat(sub.next_due_at)
    assert back - first_due > timedelta(hours=20)
    run_clock(worker_config, back, back + timedelta(minutes=5), timedelta(minutes=1))
    db = connect(worker_config.db_path)
    missed = sub.schedule.period(first_due)
    today = sub.schedule.period(back)
    assert [(r["period"], r["state"]) for r in ledger.ledger(db)] == [
        (missed, "skipped"),
        (today, "sent"),
    ]
    assert len(stub.messages("DU0LOCAL")) == 1
    after = datetime.fromisoformat(subs.by_id(db, sub.id).next_due_at)
    assert sub.schedule.local(after).date() == sub.schedule.local(back).date() + timedelta(days=1)


def test_weekly_to_daily_in_new_york_sends_one_digest_per_local_day(worker_config, subscribe, stub):
    """Tuesday's weekly digest went out at 08:00 in New York; moved at 13:00 to daily at
    21:00 (01:00 UTC, already Wednesday in UTC), the first daily digest is Wednesday's."""
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 17, 7, 0, tzinfo=new_york)
    fields = {"at_time": "08:00", "tz": "America/New_York", "keywords": ""}
    subscribe(start, frequency="weekly", weekday=1, **fields)
    run_clock(worker_config, start, start.replace(hour=8), timedelta(hours=1))
    assert len(sent_rows(worker_config)) == 1
    moved = subscribe(start.replace(hour=13), frequency="daily", **{**fields, "at_time": "21:00"})
    assert moved.next_due_at == "2026-03-19T01:00:00+00:00"  # Wed 21:00 EDT
    run_clock(
        worker_config, start.replace(hour=13), start + timedelta(days=2), timedelta(minutes=30)
    )
    days = [
        datetime.fromisoformat(r["finished_at"]).astimezone(new_york).date().isoformat()
        for r in sent_rows(worker_config)
    ]
    assert days == ["2026-03-17", "2026-03-18"]
    assert len(stub.messages("DU0LOCAL")) == 2


@pytest.mark.parametrize("change", ["pause", "unsubscribe"])
def test_a_digest_paused_or_removed_while_it_waits_its_turn_is_not_sent(
    worker_config, subscribe, stub, caplog, change
):
    """A run reads the due digests, then paces them per channel: one paused or removed in the
    App Home meanwhile was still posted (paused) or failed with a traceback (removed)."""
    start = datetime(2026, 3, 17, 7, tzinfo=UTC)
    sub = subscribe(start, target="C0GENERAL", kind="channel", tz="UTC")
    db = connect(worker_config.db_path)
    now = start.replace(hour=9)
    [waiting] = subs.due(db, now)
    if change == "pause":
        subs.set_status(db, sub.team_id, sub.id, subs.Status.PAUSED, now=now, grace=timedelta(0))
    else:
        subs.remove(db, sub.team_id, sub.user_id, str(sub.id))
    outcome = deliver_digest(db, worker_config, client_factory(worker_config), waiting, now)
    assert outcome == Outcome.DROPPED
    assert stub.messages("C0GENERAL") == []
    assert "Traceback" not in caplog.text and ledger.ledger(db, sub.id) == []


def oauth_config(worker_config, stub):
    """The worker in OAuth mode, with the stand-in's workspace installed (its token stored
    encrypted, as the bot stores it)."""
    from dataclasses import replace

    from cryptography.fernet import Fernet
    from slack_sdk.oauth.installation_store.models.installation import Installation

    from storage.installations import EncryptedInstallationStore

    config = replace(
        worker_config,
        slack_bot_token="",
        slack_client_id="111.222",
        slack_client_secret="unused",
        token_key=Fernet.generate_key().decode(),
    )
    store = EncryptedInstallationStore(
        database=config.db_path, client_id="111.222", key=config.token_key
    )
    store.save(
        Installation(
            app_id="A0LOCAL",
            team_id=stub.team_id,
            user_id="U0LOCAL",
            bot_token=stub.token,
            bot_id="B0BOT",
            bot_user_id="U0BOT",
        )
    )
    return config


def test_oauth_mode_delivers_with_the_token_the_bot_stored_encrypted(
    worker_config, subscribe, stub
):
    # OAuth mode: the bot keeps each workspace's token encrypted (PAPERS_TOKEN_KEY); the
    # worker read the table with slack_sdk's plain store, posted with the ciphertext as
    # its token, got invalid_auth and paused every subscription of every workspace.
    config = oauth_config(worker_config, stub)
    due = datetime(2026, 3, 17, 8, 0, tzinfo=UTC)
    sub = subscribe(due - timedelta(hours=1), at_time="09:00", tz="Europe/Berlin")
    with time_machine.travel(due, tick=False):
        worker.deliver(config)
    assert subs.by_id(connect(config.db_path), sub.id).status == "active"
    assert len(stub.messages("DU0LOCAL")) == 1


def test_a_token_stored_with_another_key_after_start_is_one_line_per_run(
    worker_config, subscribe, stub, caplog
):
    """The worker checks PAPERS_TOKEN_KEY at start (tests/bot/test_app.py); a bot started
    with another key may store a token after that. Each run then says so in one line, with
    no traceback per delivery, and the subscription waits, active, for the key to match."""
    from dataclasses import replace

    from cryptography.fernet import Fernet

    config = oauth_config(worker_config, stub)
    bot_config = replace(config, token_key=Fernet.generate_key().decode())
    sealed = "enc1:" + Fernet(bot_config.token_key).encrypt(stub.token.encode()).decode()
    with sqlite3.connect(config.db_path) as conn:  # installed again, through the other bot
        for table in ("slack_bots", "slack_installations"):
            conn.execute(f"UPDATE {table} SET bot_token = ?", [sealed])
    due = datetime(2026, 3, 17, 8, 0, tzinfo=UTC)
    sub = subscribe(due - timedelta(hours=1), at_time="09:00", tz="Europe/Berlin")
    job = worker._guarded(worker.deliver, config, worker.Lease(config))  # as scheduled
    with time_machine.travel(due, tick=False), caplog.at_level(logging.INFO):
        job()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "deliver: PAPERS_TOKEN_KEY does not decrypt the stored tokens (was the key changed?)"
    ]
    assert not any(r.exc_info for r in caplog.records)
    assert stub.messages("DU0LOCAL") == []
    assert subs.by_id(connect(config.db_path), sub.id).status == "active"
    with time_machine.travel(due + timedelta(minutes=1), tick=False):
        worker.deliver(bot_config)  # the worker restarted with the bot's key
    assert len(stub.messages("DU0LOCAL")) == 1


@pytest.mark.parametrize(
    ("frequency", "start", "periods", "then"),
    [
        pytest.param(
            "daily",
            datetime(2026, 3, 28, tzinfo=UTC),
            ["2026-03-28", "2026-03-29", "2026-03-30"],
            "2026-03-31T02:30:00+02:00",
            id="daily-spring-forward",
        ),
        pytest.param(
            "daily",
            datetime(2026, 10, 24, tzinfo=UTC),
            ["2026-10-24", "2026-10-25", "2026-10-26"],
            "2026-10-27T02:30:00+01:00",
            id="daily-fall-back",
        ),
        pytest.param(
            "weekly",
            datetime(2026, 3, 27, tzinfo=UTC),
            ["2026-W13"],
            "2026-04-05T02:30:00+02:00",
            id="weekly-sunday-spring-forward",
        ),
        pytest.param(
            "weekly",
            datetime(2026, 10, 23, tzinfo=UTC),
            ["2026-W43"],
            "2026-11-01T02:30:00+01:00",
            id="weekly-sunday-fall-back",
        ),
    ],
)
def test_a_digest_at_0230_berlin_comes_once_a_period_across_dst(
    worker_config, subscribe, stub, frequency, start, periods, then
):
    # 02:30 does not exist on the spring-forward Sunday (it is sent at 03:30, the moment
    # the gap ends) and exists twice on the fall-back Sunday (sent at the first only).
    sub = subscribe(start, frequency=frequency, weekday=6, at_time="02:30", tz="Europe/Berlin")
    run_clock(worker_config, start, start + timedelta(days=3), timedelta(minutes=30))
    rows = sent_rows(worker_config)
    assert [r["period"] for r in rows] == periods
    for row in rows:
        local = datetime.fromisoformat(row["claimed_at"]).astimezone(BERLIN)
        gap = local.date().isoformat() == "2026-03-29"
        assert (local.hour, local.minute) == ((3, 30) if gap else (2, 30)), row
        assert frequency == "daily" or local.weekday() == 6
    assert len(stub.messages("DU0LOCAL")) == len(periods)
    due = subs.by_id(connect(worker_config.db_path), sub.id).next_due_at
    assert datetime.fromisoformat(due).astimezone(BERLIN).isoformat() == then


@pytest.mark.parametrize(
    ("chatter", "down"),
    [
        pytest.param(250, timedelta(minutes=30), id="busy-channel"),
        pytest.param(0, timedelta(days=3), id="worker-down-three-days"),
    ],
)
def test_a_digest_posted_before_a_crash_is_found_however_busy_or_late_the_recovery(
    worker_config, subscribe, stub, chatter, down
):
    # The worker was killed right after Slack took the digest. Meanwhile the channel got
    # `chatter` other messages, or the worker stayed down for `down`: recovery must still
    # find the posted digest (history is paged, newest first) instead of posting it again.
    sub = subscribe(datetime(2026, 3, 16, 12, tzinfo=UTC), target="C0GENERAL", kind="channel")
    db = connect(worker_config.db_path)
    due = datetime.fromisoformat(sub.next_due_at)
    client = client_factory(worker_config)(stub.team_id)
    with time_machine.travel(due, tick=False):
        claim = ledger.claim(db, sub.id, sub.schedule.period(due), due)
        ledger.prepare(db, claim, {"text": "digest", "blocks": []}, [1, 2])
        ledger.set_channel(db, claim, "C0GENERAL")
        post(client, "C0GENERAL", {"text": "digest", "blocks": []}, claim.key)
    with time_machine.travel(due + timedelta(minutes=5), tick=False):
        for n in range(chatter):
            client.chat_postMessage(channel="C0GENERAL", text=f"chatter {n}")
    later = due + down
    with time_machine.travel(later, tick=False):
        outcomes = deliver_due(db, worker_config, client_factory(worker_config), later)
    assert outcomes[Outcome.RECOVERED] == 1 and outcomes[Outcome.SENT] <= 1, outcomes
    digests = [m for m in stub.messages("C0GENERAL") if m["text"] == "digest"]
    assert len(digests) == 1


def _pause(db, sub, now):
    subs.pause_or_resume(
        db, sub.team_id, sub.user_id, str(sub.id), subs.Status.PAUSED, now=now, grace=GRACE
    )


def _uninstall(db, sub, now):
    teams.deactivate(db, sub.team_id, teams.UNINSTALLED, now)


GRACE = timedelta(minutes=180)
# Each way a paused digest is taken up again: `/papers resume 1`, App Home's Resume, and a
# workspace installing the app again after an uninstall.
RESUMES = {
    "command": (
        _pause,
        lambda db, sub, now: subs.pause_or_resume(
            db, sub.team_id, sub.user_id, "1", subs.Status.ACTIVE, now=now, grace=GRACE
        ),
    ),
    "app-home": (
        _pause,
        lambda db, sub, now: subs.set_status(
            db, sub.team_id, sub.id, subs.Status.ACTIVE, now=now, grace=GRACE
        ),
    ),
    "reinstall": (_uninstall, lambda db, sub, now: teams.reactivate(db, sub.team_id, now, GRACE)),
}


@pytest.mark.parametrize("how", list(RESUMES.values()), ids=list(RESUMES))
@pytest.mark.parametrize(
    ("back", "next_digest", "headings"),
    [
        pytest.param(
            datetime(2026, 3, 20, 14, tzinfo=UTC),
            "Next digest: Sat, Mar 21 at 09:00 UTC.",
            ["Daily papers · Sat, Mar 21"],
            id="days-later",
        ),
        pytest.param(
            datetime(2026, 3, 20, 10, tzinfo=UTC),
            "Next digest: today's, right away.",
            ["Daily papers · Fri, Mar 20", "Daily papers · Sat, Mar 21"],
            id="within-grace-of-today",
        ),
    ],
)
def test_a_digest_resumed_after_days_paused_comes_at_its_next_slot(
    worker_config, subscribe, stub, how, back, next_digest, headings
):
    """A daily 09:00 digest paused on Monday and resumed on Friday afternoon kept its
    Tuesday due time: Resume said "Next digest: today's, right away" (and a preview was
    dated Tuesday), nothing came, and the list then said "last digest skipped (missed by
    4621 min)", as if the worker had been down. It now comes at its next slot (today's,
    right away, when that was less than PAPERS_GRACE_MINUTES ago)."""
    pause, resume = how
    start = datetime(2026, 3, 16, 12, tzinfo=UTC)
    sub = subscribe(start, target="C0GENERAL", kind="channel", tz="UTC")  # due Mar 17 09:00
    db = connect(worker_config.db_path)
    pause(db, sub, start + timedelta(hours=1))
    resume(db, sub, back)
    resumed = subs.by_id(db, sub.id)
    assert resumed.status == "active"
    assert views.next_delivery(resumed, back) == next_digest
    clients = client_factory(worker_config)
    for moment in (back + timedelta(minutes=1), datetime(2026, 3, 21, 9, 1, tzinfo=UTC)):
        deliver_due(db, worker_config, clients, moment)
    assert [m["text"].split(":")[0] for m in stub.messages("C0GENERAL")] == headings
    assert [r["state"] for r in ledger.ledger(db, sub.id)] == ["sent"] * len(headings)
    status = views.delivery_status(subs.by_id(db, sub.id), subs.last_delivery(db, sub.id))
    assert status == "last digest: Sat, Mar 21 at 09:01 UTC"


# Titles a feed may carry (up to the 300 characters a title keeps) and abstracts as long as
# the 4,000 an abstract keeps: each & is five characters once escaped for Slack (&amp;), and
# each emoji or Hebrew letter a \u escape in the JSON Slack receives.
HOSTILE = {
    "ampersands": ("&" * 300, "&" * 4000),
    "broadcasts": ("<!channel> <https://x|y> " * 12, "<!here> " * 500),
    "emoji": ("🧠🔥" * 150, "🚀" * 4000),
    "rtl": ("\u202eשלום עולם " * 30, "مرحبا بالعالم " * 280),
    "bold": ("*bold* _it_ ~s~ `c` " * 15, "*x* " * 1000),
}


@pytest.mark.parametrize("text", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_digest_of_hostile_papers_is_delivered_within_slack_limits(
    worker_config, subscribe, stub, text
):
    """Five trending papers with titles and abstracts a hostile (or just unusual) feed gave
    them: the digest was over Slack's limit for a message (msg_blocks_too_long), retried
    five times with the same message and given up, so every trending subscriber got
    nothing that day. Now it is posted with the papers that fit; the others are not marked
    sent and come in the next digest."""
    title, abstract = text
    start = datetime(2026, 3, 16, 12, tzinfo=UTC)
    subscribe(start, target="C0GENERAL", kind="channel", tz="UTC")
    db = connect(worker_config.db_path)
    due = datetime(2026, 3, 17, 9, 1, tzinfo=UTC)
    top = [p["id"] for p in trending(db, due, "day", limit=5)]
    for n, paper_id in enumerate(top):
        db["papers"].update(paper_id, {"title": f"{n} {title}"[:300], "abstract": abstract})
    clients = client_factory(worker_config)
    assert deliver_due(db, worker_config, clients, due) == Counter(sent=1)
    [message] = stub.messages("C0GENERAL")
    assert validate_blocks(message["blocks"]) == []
    actions = [b for b in message["blocks"][1:-1] if b["type"] == "actions"]
    shown = [int(b["elements"][0]["value"]) for b in actions]
    [row] = ledger.ledger(db)
    assert json.loads(row["paper_ids"]) == shown == top[: len(shown)]
    # What did not fit is not marked sent: it leads the next digest.
    deliver_due(db, worker_config, clients, due + timedelta(days=1))
    later = json.loads(ledger.ledger(db)[-1]["paper_ids"])
    assert len(shown) == 5 or later[0] == top[len(shown)]


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="bot-token"),
        # The Client ID copied from Basic Information beside the token, without the secret:
        # the bot ran on the token (OAuth needs both), the worker looked for OAuth
        # installations, found none and paused every digest "no bot token for this team".
        pytest.param({"slack_client_id": "111.222"}, id="bot-token-and-a-client-id"),
    ],
)
def test_the_worker_posts_with_the_token_the_bot_answers_with(
    worker_config, subscribe, stub, extra
):
    from dataclasses import replace

    from cryptography.fernet import Fernet

    config = replace(worker_config, token_key=Fernet.generate_key().decode(), **extra)
    sub = subscribe(datetime(2026, 3, 16, 12, tzinfo=UTC))
    db = connect(config.db_path)
    due = datetime.fromisoformat(sub.next_due_at)
    assert deliver_due(db, config, client_factory(config), due) == Counter(sent=1)
    assert len(stub.messages("DU0LOCAL")) == 1


def test_a_weekdays_digest_on_monday_brings_the_weekends_papers(stub, tmp_path):
    """A weekdays digest drew on the newest listing day only, as a daily one does: Monday's
    held Monday's papers, and a paper listed on Saturday or Sunday (the weekend's most
    upvoted) never reached a weekdays subscriber. Monday's now spans the days since
    Friday's digest; Tuesday's is Tuesday's alone again."""
    from tests.storage.test_trending import listing

    db = connect(tmp_path / "papers.db")
    for day, paper, upvotes in [
        ("2026-03-20", 0, 30),  # Friday
        ("2026-03-21", 1, 80),  # Saturday
        ("2026-03-22", 2, 40),  # Sunday
        ("2026-03-23", 3, 10),  # Monday
        ("2026-03-24", 4, 10),  # Tuesday
    ]:
        listing(db, "hf", day, {paper: upvotes})
    config = _stub_config(stub, tmp_path)
    friday = datetime(2026, 3, 20, 8, tzinfo=UTC)
    add_subscription_to(db, stub, friday, frequency="weekdays")
    for day in (20, 23, 24):  # Friday, Monday, Tuesday at 09:00 UTC
        deliver_due(db, config, client_factory(config), datetime(2026, 3, day, 9, tzinfo=UTC))
    titles = [
        [b["text"]["text"].split("*")[1] for b in m["blocks"] if b["type"] == "section"]
        for m in stub.messages("DU0LOCAL")
    ]
    assert [sorted(digest) for digest in titles] == [
        ["Paper A about 0"],
        ["Paper B about 1", "Paper C about 2", "Paper D about 3"],
        ["Paper E about 4"],
    ]


def test_a_paper_added_to_a_days_listing_after_its_digest_comes_in_the_next_one(stub, tmp_path):
    """A digest chose among the papers its day's listing held by then, and the next one
    among the next day's: a paper added to Tuesday's listing after Tuesday's digest (Hugging
    Face's page fills all day) reached no digest at all. It now comes in Wednesday's, once;
    Tuesday's runner-up, which Tuesday's digest had to choose from, does not."""
    from tests.storage.test_trending import listing

    db = connect(tmp_path / "papers.db")
    listing(db, "hf", "2026-03-17", {0: 30, 1: 5})  # A, and B its runner-up
    add_subscription_to(db, stub, datetime(2026, 3, 16, 10, tzinfo=UTC), frequency="daily")
    one = _stub_config(stub, tmp_path, digest_size=1)
    deliver_due(db, one, client_factory(one), datetime(2026, 3, 17, 9, tzinfo=UTC))
    listing(db, "hf-json", "2026-03-17", {2: 20})  # C, added to Tuesday's page at noon
    listing(db, "hf", "2026-03-18", {3: 10})  # D, Wednesday's
    three = _stub_config(stub, tmp_path, digest_size=3)
    for day in (18, 19):
        deliver_due(db, three, client_factory(three), datetime(2026, 3, day, 9, tzinfo=UTC))
    digests = [_titles(m) for m in stub.messages("DU0LOCAL") if m.get("blocks")]
    assert digests[:2] == [["Paper A about 0"], ["Paper C about 2", "Paper D about 3"]]
    assert all("Paper C about 2" not in titles for titles in digests[2:])


@pytest.mark.parametrize("featured", ["before", "after"])
def test_a_runner_up_listed_again_on_a_later_day_is_a_choice_whenever_that_listing_came(
    stub, tmp_path, featured
):
    """Hugging Face features a paper a day or two after arXiv announced it. A, Tuesday's
    arXiv runner-up, was featured on Wednesday's page with 40 upvotes: before Wednesday's
    09:00 digest it was among that digest's choices (and won); after it, no digest ever
    chose among that listing, as A had been listed before (on Tuesday): only a subscriber
    whose digest came later in the day saw it."""
    from tests.storage.test_trending import listing

    db = connect(tmp_path / "papers.db")
    listing(db, "rss", "2026-03-17", {0: None})  # A, announced by arXiv on Tuesday
    listing(db, "hf", "2026-03-17", {1: 30})  # B, Tuesday's top paper
    add_subscription_to(db, stub, datetime(2026, 3, 16, 10, tzinfo=UTC), frequency="daily")
    config = _stub_config(stub, tmp_path, digest_size=1)
    clients = client_factory(config)
    deliver_due(db, config, clients, datetime(2026, 3, 17, 9, tzinfo=UTC))
    listing(db, "hf", "2026-03-18", {3: 5})  # D, Wednesday's
    if featured == "before":
        listing(db, "hf-json", "2026-03-18", {0: 40})  # A on Wednesday's page
    deliver_due(db, config, clients, datetime(2026, 3, 18, 9, tzinfo=UTC))
    if featured == "after":
        listing(db, "hf-json", "2026-03-18", {0: 40})
    listing(db, "hf", "2026-03-19", {4: 1})  # E, Thursday's
    deliver_due(db, config, clients, datetime(2026, 3, 19, 9, tzinfo=UTC))
    sent = [title for m in stub.messages("DU0LOCAL") for title in _titles(m)]
    assert sent[0] == "Paper B about 1" and sent.count("Paper A about 0") == 1


def test_a_keyword_digest_takes_a_paper_the_index_held_back_in_its_next_digest(stub, tmp_path):
    """A keyword digest matches through the search index. A paper stored while another
    process held the index (not searchable for a few seconds) was none of Tuesday's
    choices, yet Tuesday's claim counted it as seen: Wednesday's digest took it for a
    runner-up of Tuesday's and no digest ever brought it."""
    import fcntl

    from storage import index as search_index
    from storage.models import Entry, IngestReport
    from storage.papers import store_entries
    from tests.conftest import add_subscription

    def robotics(title: str, day: str) -> None:
        entry = Entry(
            f"{title}: we study robotics with a new kind of gripper.", title, listed_on=day
        )
        store_entries(db, title, "dump", title, [entry], day, IngestReport(title))

    db = connect(tmp_path / "papers.db")
    robotics("Grippers that learn", "2026-03-17")
    made = datetime(2026, 3, 16, 10, tzinfo=UTC)
    add_subscription(db, stub.team_id, "U0LOCAL", "U0LOCAL", "personal", made, keywords="robotics")
    config = _stub_config(stub, tmp_path)
    index = search_index.index_dir(db)
    with open(index.with_name(index.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the index busy elsewhere: stored, not yet indexed
        robotics("Grippers that fold laundry", "2026-03-17")
        deliver_due(db, config, client_factory(config), datetime(2026, 3, 17, 9, tzinfo=UTC))
    assert search_index.ensure(db)  # let go: indexed now
    robotics("Grippers under water", "2026-03-18")
    deliver_due(db, config, client_factory(config), datetime(2026, 3, 18, 9, tzinfo=UTC))
    titles = [_titles(m) for m in stub.messages("DU0LOCAL")]
    assert titles == [
        ["Grippers that learn"],
        ["Grippers that fold laundry", "Grippers under water"],
    ]


def test_a_trending_digests_runner_up_stored_while_the_index_lagged_does_not_come_back(
    stub, tmp_path
):
    """A trending digest chooses from the store, not the search index: a paper stored
    while the index lagged was among Tuesday's choices, and is no late paper on Wednesday."""
    import fcntl

    from storage import index as search_index
    from tests.storage.test_trending import listing

    db = connect(tmp_path / "papers.db")
    add_subscription_to(db, stub, datetime(2026, 3, 16, 10, tzinfo=UTC), frequency="daily")
    listing(db, "hf", "2026-03-16", {6: 1})  # an index to hold
    index = search_index.index_dir(db)
    with open(index.with_name(index.name + ".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the index busy elsewhere: stored, not yet indexed
        listing(db, "hf", "2026-03-17", {0: 30, 1: 5})  # A, and B its runner-up
        one = _stub_config(stub, tmp_path, digest_size=1)
        deliver_due(db, one, client_factory(one), datetime(2026, 3, 17, 9, tzinfo=UTC))
    assert search_index.ensure(db)
    listing(db, "hf", "2026-03-18", {3: 10})  # D, Wednesday's
    three = _stub_config(stub, tmp_path, digest_size=3)
    deliver_due(db, three, client_factory(three), datetime(2026, 3, 18, 9, tzinfo=UTC))
    titles = [_titles(m) for m in stub.messages("DU0LOCAL")]
    assert titles == [["Paper A about 0"], ["Paper D about 3"]]


def test_a_slack_api_url_without_its_last_slash_still_reaches_slack(stub, tmp_path):
    """The Web API's methods are joined to SLACK_API_URL as to a folder: `…/api` sent
    `chat.postMessage` to `…/chat.postMessage`, and no digest ever went out."""
    from tests.storage.test_trending import listing

    config = Config.from_env(
        {
            "PAPERS_DB": str(tmp_path / "papers.db"),
            "SLACK_BOT_TOKEN": stub.token,
            "SLACK_SIGNING_SECRET": "unused",
            "SLACK_API_URL": stub.api_url.rstrip("/"),
        }
    )
    db = connect(config.db_path)
    listing(db, "hf", "2026-03-17", {0: 30})
    add_subscription_to(db, stub, datetime(2026, 3, 16, 10, tzinfo=UTC), frequency="daily")
    sent = deliver_due(db, config, client_factory(config), datetime(2026, 3, 17, 9, tzinfo=UTC))
    assert sent == Counter(sent=1)
    assert [_titles(m) for m in stub.messages("DU0LOCAL")] == [["Paper A about 0"]]


def test_a_digest_resumed_after_a_pause_holds_no_paper_of_the_days_it_was_paused_for(
    stub, tmp_path
):
    """Listings come a day at a time. A daily digest paused after Tuesday's and resumed on
    Friday holds Friday's papers alone (README: not the days it was paused for); its first
    digest took Wednesday's and Thursday's papers as added to listings after Tuesday's
    digest had chosen, though no digest had ever chosen among those days."""
    db = connect(tmp_path / "papers.db")
    config = _stub_config(stub, tmp_path, digest_size=20)
    clients = client_factory(config)
    _list_one(db, 1, "2026-03-17")  # B, Tuesday's
    sub = add_subscription_to(db, stub, datetime(2026, 3, 16, 10, tzinfo=UTC), frequency="daily")
    assert deliver_due(db, config, clients, datetime(2026, 3, 17, 9, tzinfo=UTC)) == Counter(sent=1)
    grace = timedelta(minutes=config.grace_minutes)
    paused_at = datetime(2026, 3, 17, 12, tzinfo=UTC)
    subs.set_status(db, stub.team_id, sub.id, subs.Status.PAUSED, now=paused_at, grace=grace)
    _list_one(db, 2, "2026-03-18")  # C, listed on Wednesday while it was paused
    _list_one(db, 3, "2026-03-19")  # D, Thursday's
    resumed_at = datetime(2026, 3, 20, 8, tzinfo=UTC)
    subs.set_status(db, stub.team_id, sub.id, subs.Status.ACTIVE, now=resumed_at, grace=grace)
    _list_one(db, 4, "2026-03-20")  # E, Friday's
    assert deliver_due(db, config, clients, datetime(2026, 3, 20, 9, tzinfo=UTC)) == Counter(sent=1)
    friday = stub.messages("DU0LOCAL")[-1]
    assert friday["blocks"][0]["text"]["text"] == "Daily papers · Fri, Mar 20"
    assert _titles(friday) == ["Paper E about 4"]


def test_a_paper_listed_while_a_run_sends_its_digests_comes_in_each_subscriptions_next_one(
    stub, tmp_path
):
    """The digests of one run share one trending list, ranked for the first of them. A
    paper the ingest stored while the run went on (its jobs run side by side) was missing
    from that list, yet the next digest's claim recorded it as seen, so the next day took
    it for one the later digests had chosen against: it reached none of them."""
    from storage.digests import TrendingCache
    from tests.conftest import add_subscription
    from tests.storage.test_trending import listing

    db = connect(tmp_path / "papers.db")
    listing(db, "hf", "2026-03-17", {0: 30})  # A
    made = datetime(2026, 3, 16, 10, tzinfo=UTC)
    first = add_subscription_to(db, stub, made, frequency="daily")
    second = add_subscription(db, stub.team_id, "U0LOCAL", "C0GENERAL", "channel", made)
    config = _stub_config(stub, tmp_path, digest_size=1)
    clients, cache = client_factory(config), TrendingCache()
    tuesday = datetime(2026, 3, 17, 9, tzinfo=UTC)
    assert deliver_digest(db, config, clients, first, tuesday, cache) == Outcome.SENT
    listing(db, "hf-json", "2026-03-17", {2: 40})  # C, stored meanwhile by the ingest
    assert deliver_digest(db, config, clients, second, tuesday, cache) == Outcome.SENT
    listing(db, "hf", "2026-03-18", {3: 1})  # D, Wednesday's
    deliver_due(db, config, clients, datetime(2026, 3, 18, 9, tzinfo=UTC))
    one, other = ([_titles(m) for m in stub.messages(t)] for t in ("DU0LOCAL", "C0GENERAL"))
    # The first chose before C was stored: C comes in its next digest, as a late paper.
    assert one == [["Paper A about 0"], ["Paper C about 2"]]
    # The second's claim saw C: it chose among A and C (C won), and then had D.
    assert other == [["Paper C about 2"], ["Paper D about 3"]]


def _stub_config(stub, tmp_path, **fields) -> Config:
    """A worker's configuration on tmp_path's database, posting to the stand-in."""
    return Config(
        db_path=str(tmp_path / "papers.db"),
        slack_bot_token=stub.token,
        slack_signing_secret="unused",
        slack_api_url=stub.api_url,
        **fields,
    )


def add_subscription_to(db, stub, now: datetime, **fields) -> subs.Subscription:
    from tests.conftest import add_subscription

    return add_subscription(db, stub.team_id, "U0LOCAL", "U0LOCAL", "personal", now, **fields)


@pytest.mark.parametrize(
    ("fields", "failed_at", "back", "headings", "next_due"),
    [
        pytest.param(
            {"frequency": "daily", "tz": "UTC"},
            datetime(2026, 3, 17, 9, tzinfo=UTC),
            datetime(2026, 3, 18, 10, tzinfo=UTC),
            ["Daily papers · Tue, Mar 17 – Wed, Mar 18", "Daily papers · Thu, Mar 19"],
            "2026-03-20T09:00:00+00:00",
            id="daily",
        ),
        pytest.param(
            {"frequency": "weekly", "weekday": 1, "tz": "UTC"},
            datetime(2026, 3, 17, 9, tzinfo=UTC),
            datetime(2026, 3, 24, 10, tzinfo=UTC),
            ["Weekly papers · Wed, Mar 11 – Tue, Mar 24", "Weekly papers · Tue, Mar 31"],
            "2026-04-07T09:00:00+00:00",
            id="weekly",
        ),
        pytest.param(
            # Saturday's 09:00 Berlin is 08:00 UTC, Sunday's (summer time) 07:00 UTC.
            {"frequency": "daily", "tz": "Europe/Berlin"},
            datetime(2026, 3, 28, 8, tzinfo=UTC),
            datetime(2026, 3, 29, 8, tzinfo=UTC),
            ["Daily papers · Sat, Mar 28 – Sun, Mar 29", "Daily papers · Mon, Mar 30"],
            "2026-03-31T07:00:00+00:00",
            id="berlin-spring-forward",
        ),
    ],
)
def test_a_retry_left_waiting_past_the_next_slot_gives_way_to_that_days_digest(
    worker_config, subscribe, stub, caplog, fields, failed_at, back, headings, next_due
):
    """A 09:00 digest failed and waited for its retry; the worker was down until an hour
    after the next slot. It posted the stale digest (yesterday's, dated yesterday) and moved
    the schedule past today's, so today's digest, still within grace, never came. Now the
    stale one gives way to today's (one message, headed with both days) and the next comes
    as usual."""
    sub = subscribe(failed_at - timedelta(days=1), at_time="09:00", keywords="", **fields)
    db = connect(worker_config.db_path)
    clients = client_factory(worker_config)
    stub.state.fail_next["chat.postMessage"] = ["internal_error"]
    assert deliver_due(db, worker_config, clients, failed_at) == Counter(retry=1)
    assert stub.messages("DU0LOCAL") == []
    caplog.set_level(logging.WARNING, logger="jobs.delivery")
    run_clock(worker_config, back, back + timedelta(minutes=3), timedelta(minutes=1))
    assert [m["text"].split(":")[0] for m in stub.messages("DU0LOCAL")] == headings[:1]
    assert any("gives way" in r.getMessage() for r in caplog.records)
    then = back + (back - failed_at)  # an hour after the slot one period on
    run_clock(worker_config, then, then + timedelta(minutes=3), timedelta(minutes=1))
    assert [m["text"].split(":")[0] for m in stub.messages("DU0LOCAL")] == headings
    assert subs.by_id(db, sub.id).next_due_at == next_due
    rows = ledger.ledger(db, sub.id)
    assert [r["state"] for r in rows] == ["skipped", "sent", "sent"]
    assert rows[0]["period"] == sub.schedule.period(failed_at)
    day = headings[0].rsplit("– ", 1)[-1]  # the later digest's day, as its heading names it
    assert rows[0]["detail"].startswith(f"gave way to the digest of {day}, which holds its papers")


def test_the_digest_a_stale_retry_gives_way_to_brings_that_days_papers_too(stub, tmp_path):
    """Tuesday's digest failed and its retry waited until Wednesday 10:00: Wednesday's
    digest, sent instead, holds Tuesday's papers as well as Wednesday's (none is lost), and
    Thursday's is Thursday's alone again."""
    from tests.storage.test_trending import listing

    db = connect(tmp_path / "papers.db")
    for day, paper in [("2026-03-16", 0), ("2026-03-17", 1), ("2026-03-18", 2), ("2026-03-19", 3)]:
        listing(db, "hf", day, {paper: 10})
    config = _stub_config(stub, tmp_path)
    add_subscription_to(db, stub, datetime(2026, 3, 16, 10, tzinfo=UTC), frequency="daily")
    clients = client_factory(config)
    stub.state.fail_next["chat.postMessage"] = ["internal_error"]
    tuesday = datetime(2026, 3, 17, 9, tzinfo=UTC)
    assert deliver_due(db, config, clients, tuesday) == Counter(retry=1)
    for moment in (datetime(2026, 3, 18, 10, tzinfo=UTC), datetime(2026, 3, 19, 9, tzinfo=UTC)):
        deliver_due(db, config, clients, moment)
    titles = [
        sorted(b["text"]["text"].split("*")[1] for b in m["blocks"] if b["type"] == "section")
        for m in stub.messages("DU0LOCAL")
    ]
    assert titles == [["Paper B about 1", "Paper C about 2"], ["Paper D about 3"]]


_WORDS = [
    "graph",
    "speech",
    "vision",
    "robot",
    "agent",
    "memory",
    "sparse",
    "kernel",
    "proof",
    "query",
    "tensor",
    "audio",
]


def _list_one(db, n: int, day) -> None:
    """Paper n ("Paper A about 0" for 0), alone in a listing of `day`, its abstract unlike
    any other's."""
    import random

    from storage.models import Entry, IngestReport
    from storage.papers import store_entries

    words = " ".join(random.Random(n).sample(_WORDS * 3, 20))
    entry = Entry(f"On {words}.", f"Paper {chr(65 + n)} about {n}", upvotes=10, listed_on=str(day))
    now = datetime(2026, 3, 16, tzinfo=UTC).isoformat()
    store_entries(db, "hf", "test", f"hf{day}", [entry], now, IngestReport("hf"))


def _titles(message: dict) -> list[str]:
    return sorted(
        b["text"]["text"].split("*")[1] for b in message["blocks"] if b["type"] == "section"
    )


@pytest.mark.parametrize(
    ("down_until", "papers", "heading", "promise"),
    [
        pytest.param(
            # Wednesday's 09:00 missed by 5 h (grace is 3 h): nothing was sent that day.
            [datetime(2026, 3, 18, 14, tzinfo=UTC), datetime(2026, 3, 19, 9, tzinfo=UTC)],
            "CD",
            "Daily papers · Wed, Mar 18 – Thu, Mar 19",
            "its papers come in the next digest",
            id="a-day-missed",
        ),
        pytest.param(
            # Down from before Wednesday's slot until an hour after Friday's: the ledger
            # records Wednesday as missed and has no row for Thursday.
            [datetime(2026, 3, 20, 10, tzinfo=UTC)],
            "CDE",
            "Daily papers · Wed, Mar 18 – Fri, Mar 20",
            "its papers come in the next digest",
            id="three-days-down",
        ),
        pytest.param(
            # Down for three weeks: the digest after it covers two weeks, not all of them.
            [datetime(2026, 4, 7, 10, tzinfo=UTC)],
            "JKLMNOPQRSTUVW",
            "Daily papers · Wed, Mar 25 – Tue, Apr 7",
            # Nor does the ledger say its papers come in it.
            "the next digest brings the last 14 days' papers",
            id="capped-at-two-weeks",
        ),
    ],
)
def test_the_digest_after_an_outage_brings_the_missed_days_papers(
    stub, tmp_path, down_until, papers, heading, promise
):
    """A worker down past PAPERS_GRACE_MINUTES skips the digests it missed (never posted
    late), but their papers are not lost: the next digest holds them, headed with the days
    it covers, and the one after it is its own day's again."""
    db = connect(tmp_path / "papers.db")
    for n in range(24):  # paper A on Mar 16, B on Mar 17, ... X on Apr 8
        _list_one(db, n, (datetime(2026, 3, 16) + timedelta(days=n)).date())
    config = _stub_config(stub, tmp_path, digest_size=20)
    add_subscription_to(db, stub, datetime(2026, 3, 16, 10, tzinfo=UTC), frequency="daily")
    clients = client_factory(config)
    assert deliver_due(db, config, clients, datetime(2026, 3, 17, 9, tzinfo=UTC)) == Counter(sent=1)
    for moment in down_until:
        deliver_due(db, config, clients, moment)
    messages = stub.messages("DU0LOCAL")
    assert len(messages) == 2
    assert _titles(messages[-1]) == [f"Paper {c} about {ord(c) - 65}" for c in papers]
    assert messages[-1]["blocks"][0]["text"]["text"] == heading
    assert ledger.ledger(db)[1]["detail"].startswith("missed by")
    assert ledger.ledger(db)[1]["detail"].endswith(f"; {promise}")
    next_day = (down_until[-1] + timedelta(days=1)).replace(hour=9, minute=30)
    deliver_due(db, config, clients, next_day)
    following = chr(ord(papers[-1]) + 1)
    assert _titles(stub.messages("DU0LOCAL")[-1]) == [
        f"Paper {following} about {ord(following) - 65}"
    ]


def test_a_new_subscriptions_first_digest_is_its_own_days_alone(stub, tmp_path):
    """Slots before a subscription existed have no ledger rows: its first digest holds its
    own day's papers, not the days before it was made."""
    from tests.storage.test_trending import listing

    db = connect(tmp_path / "papers.db")
    for n in range(4):
        listing(db, "hf", f"2026-03-{16 + n}", {n: 10})
    config = _stub_config(stub, tmp_path)
    add_subscription_to(db, stub, datetime(2026, 3, 18, 10, tzinfo=UTC), frequency="daily")
    deliver_due(db, config, client_factory(config), datetime(2026, 3, 19, 9, tzinfo=UTC))
    (message,) = stub.messages("DU0LOCAL")
    assert _titles(message) == ["Paper D about 3"]
    assert message["blocks"][0]["text"]["text"] == "Daily papers · Thu, Mar 19"


def _daily_with_tuesdays_digest_sent(stub, tmp_path):
    """One paper listed a day (A on Mar 16, B on Mar 17, ...) and a daily 09:00 UTC trending
    digest by DM, made Monday, Mar 16, whose Tuesday digest went out."""
    db = connect(tmp_path / "papers.db")
    for n in range(24):
        _list_one(db, n, (datetime(2026, 3, 16) + timedelta(days=n)).date())
    config = _stub_config(stub, tmp_path, digest_size=20)
    sub = add_subscription_to(db, stub, datetime(2026, 3, 16, 10, tzinfo=UTC), frequency="daily")
    clients = client_factory(config)
    assert deliver_due(db, config, clients, datetime(2026, 3, 17, 9, tzinfo=UTC)) == Counter(sent=1)
    return db, config, clients, sub


@pytest.mark.parametrize(
    ("resumed_at", "due", "papers", "heading"),
    [
        pytest.param(
            # Paused over Thursday's slot: Friday's digest is Friday's alone.
            datetime(2026, 3, 20, 8, tzinfo=UTC),
            datetime(2026, 3, 20, 9, tzinfo=UTC),
            "E",
            "Daily papers · Fri, Mar 20",
            id="paused-over-a-slot",
        ),
        pytest.param(
            # Resumed before Thursday's slot: no digest was paused away; Wednesday's papers
            # come in Thursday's, as after any missed digest.
            datetime(2026, 3, 19, 8, tzinfo=UTC),
            datetime(2026, 3, 19, 9, tzinfo=UTC),
            "CD",
            "Daily papers · Wed, Mar 18 – Thu, Mar 19",
            id="resumed-before-the-next-slot",
        ),
    ],
)
def test_a_digest_resumed_after_a_pause_does_not_catch_up_a_missed_one(
    stub, tmp_path, resumed_at, due, papers, heading
):
    """Wednesday's digest was missed (the worker down past grace), then the member paused
    the subscription. Resumed on Friday, its first digest held Wednesday's and Thursday's
    papers too, headed "Wed, Mar 18 – Fri, Mar 20": days it was paused for."""
    db, config, clients, sub = _daily_with_tuesdays_digest_sent(stub, tmp_path)
    deliver_due(db, config, clients, datetime(2026, 3, 18, 14, tzinfo=UTC))  # Wednesday's missed
    grace = timedelta(minutes=config.grace_minutes)
    paused_at = datetime(2026, 3, 18, 15, tzinfo=UTC)
    subs.set_status(db, stub.team_id, sub.id, subs.Status.PAUSED, now=paused_at, grace=grace)
    subs.set_status(db, stub.team_id, sub.id, subs.Status.ACTIVE, now=resumed_at, grace=grace)
    assert deliver_due(db, config, clients, due) == Counter(sent=1)
    messages = stub.messages("DU0LOCAL")
    assert messages[-1]["blocks"][0]["text"]["text"] == heading
    assert _titles(messages[-1]) == [f"Paper {c} about {ord(c) - 65}" for c in papers]


def test_a_daily_digest_made_weekly_after_a_missed_one_covers_its_week(stub, tmp_path):
    """Wednesday's daily digest was missed; the member then made it weekly on Tuesdays. The
    first weekly digest covers the week since Tuesday's daily one, Wednesday included: it was
    headed "Wed, Mar 11 – Tue, Mar 24" and held a paper from before the subscription's first
    digest (a daily missed digest was taken for a weekly one two weeks back)."""
    db, config, clients, _ = _daily_with_tuesdays_digest_sent(stub, tmp_path)
    deliver_due(db, config, clients, datetime(2026, 3, 18, 14, tzinfo=UTC))  # Wednesday's missed
    changed = datetime(2026, 3, 18, 15, tzinfo=UTC)
    sub = add_subscription_to(db, stub, changed, frequency="weekly", weekday=1)
    assert sub.next_due_at == "2026-03-24T09:00:00+00:00"
    assert deliver_due(db, config, clients, datetime(2026, 3, 24, 9, tzinfo=UTC)) == Counter(sent=1)
    weekly = stub.messages("DU0LOCAL")[-1]
    assert weekly["blocks"][0]["text"]["text"] == "Weekly papers · Tue, Mar 24"
    assert _titles(weekly) == [f"Paper {c} about {ord(c) - 65}" for c in "CDEFGHI"]
