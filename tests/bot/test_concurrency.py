"""50 concurrent slash commands while the worker ingests 4k papers and delivers digests
into the same SQLite file: nobody sees "database is locked", nothing is lost."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.corpus import generate, write_dump
from jobs.delivery import deliver_due
from jobs.slack import client_factory
from storage import connect
from tests.bot.conftest import wait_for
from tests.conftest import add_subscription, count

PAPERS = str(Path(sys.executable).with_name("papers"))
# 4,000 papers are four ingest transactions: the commands meet the write lock repeatedly.
USERS, DIGESTS, NEW_PAPERS = 50, 100, 4_000


def test_commands_ingest_and_delivery_share_the_database(slack, config, tmp_path, caplog):
    slack.state.rate_per_second, slack.state.burst = 1000.0, 1000.0
    dump = tmp_path / "big.txt"
    write_dump(generate(NEW_PAPERS, seed=5), dump)
    db = connect(config.db_path)
    now = datetime.now(UTC)
    for n in range(DIGESTS):
        slack.add_channel(f"C9{n:03d}", f"c{n}")
        add_subscription(
            db, slack.team_id, f"U0O{n:03d}", f"C9{n:03d}", due=now - timedelta(minutes=1)
        )

    def user_session(n: int) -> list[str]:
        replies = []
        for text in [f"subscribe topic{n} daily", "list"] + (
            [f"unsubscribe topic{n}"] if n % 2 else []
        ):
            sent = slack.command(text, user=f"U1{n:03d}")
            assert sent["status"] == 200
            posts = wait_for(
                lambda rid=sent["response_id"]: [
                    p for p in slack.responses(rid) if p["_via"] == "response_url"
                ],
                timeout=60,
            )
            replies.append(posts[0]["text"])
            during_ingest.append(ingest.poll() is None)
            count("concurrent commands")
        return replies

    during_ingest: list[bool] = []

    def delivery_loop(stop: threading.Event) -> None:
        worker_db = connect(config.db_path)
        while not stop.is_set():
            deliver_due(worker_db, config, client_factory(config), datetime.now(UTC))
            stop.wait(0.05)  # the worker's every-minute job, run back to back

    with caplog.at_level(logging.INFO):
        # Four write transactions of 1,000 (as README says; one of 4,000 at the default
        # batch): the bot's writes must get in between each.
        ingest = subprocess.Popen(
            [PAPERS, "--db", config.db_path, "ingest", str(dump)],
            env={**os.environ, "PAPERS_INGEST_BATCH": "1000"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stop = threading.Event()
        deliverer = threading.Thread(target=delivery_loop, args=(stop,))
        deliverer.start()
        try:
            with ThreadPoolExecutor(max_workers=USERS) as pool:
                sessions = list(pool.map(user_session, range(USERS)))
            out, err = ingest.communicate(timeout=300)
            wait_for(lambda: len(slack.messages()) >= DIGESTS, timeout=60)
        finally:
            stop.set()
            deliverer.join(timeout=60)
            ingest.kill()

    assert ingest.returncode == 0, err
    assert any(during_ingest), "no command was answered while the ingest was writing"
    assert f"{NEW_PAPERS} parsed, {NEW_PAPERS} new papers" in out
    for n, replies in enumerate(sessions):
        assert replies[0].startswith("Subscribed: *#") and "topic" in replies[0], replies
        assert f"topic{n}" in replies[1]
        if n % 2:
            assert replies[2].startswith("Removed 1 subscription")
    assert "database is locked" not in caplog.text + err
    assert "Something went wrong" not in str(sessions)
    db = connect(config.db_path)
    assert db["subscriptions"].count == DIGESTS + USERS // 2
    assert db["papers"].count == 111 + NEW_PAPERS
    assert [len(slack.messages(f"C9{n:03d}")) for n in range(DIGESTS)] == [1] * DIGESTS


def test_a_command_meeting_a_write_lock_held_past_the_busy_timeout_says_so(
    slack, config, reply, caplog, monkeypatch
):
    """An admin's sqlite3 shell (or a stuck process) holding the write lock past the busy
    timeout: a subscribe was answered "Something went wrong" with a traceback in the log.
    The member is told the database is busy and nothing was saved; the log has one line."""
    import storage.db
    import storage.replays

    # The busy timeout is a parameter: 15 s in production, short here.
    monkeypatch.setattr(storage.db, "BUSY_TIMEOUT_MS", 50)
    monkeypatch.setattr(storage.replays, "BUSY_TIMEOUT_MS", 50)
    holder = sqlite3.connect(config.db_path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with caplog.at_level(logging.ERROR):
            text = reply("subscribe lora daily")["text"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "busy" in text and "nothing was changed" in text, text
    assert "went wrong" not in text
    assert connect(config.db_path)["subscriptions"].count == 0
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert any("busy" in r.getMessage() for r in caplog.records)
