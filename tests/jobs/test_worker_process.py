"""The worker as a real process: killed with SIGKILL mid-delivery, restarted, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage import connect
from tests.bot.conftest import wait_for
from tests.conftest import add_subscription

PAPERS = str(Path(sys.executable).with_name("papers"))
COUNT = 200


def start_worker(config, tmp_path, log_name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PAPERS_DB": config.db_path,
        "SLACK_BOT_TOKEN": config.slack_bot_token,
        "SLACK_API_URL": config.slack_api_url,
        "PAPERS_INBOX": config.inbox_dir,
        "PAPERS_FEEDS": "http://127.0.0.1:9/unreachable-feed",
        "PAPERS_INGEST_MINUTES": "60",
        "PAPERS_LEASE_SECONDS": "4",  # the killed worker's lease lapses quickly
    }
    log = open(tmp_path / log_name, "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([PAPERS, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)


def sent_count(db_path: str) -> int:
    db = connect(db_path)
    try:
        return next(db.query("SELECT COUNT(*) AS n FROM deliveries WHERE state = 'sent'"))["n"]
    finally:
        db.close()


def test_sigkill_mid_delivery_then_restart_delivers_each_digest_once(worker_config, stub, tmp_path):
    now = datetime.now(UTC)
    db = connect(worker_config.db_path)
    for n in range(COUNT):
        stub.add_channel(f"C{n:04d}", f"team-{n}")
        # All due two minutes ago, well within the grace period.
        add_subscription(db, stub.team_id, f"U{n:04d}", f"C{n:04d}", due=now - timedelta(minutes=2))
    (Path(worker_config.inbox_dir)).mkdir(parents=True, exist_ok=True)
    (Path(worker_config.inbox_dir) / "broken.txt").write_bytes(b"\x00\xff" * 100)
    # Slack stores the 41st and later posts but answers none of them: the worker is killed
    # with posts delivered and not confirmed, and cannot have finished.
    stub.state.hold_after = 40

    first = start_worker(worker_config, tmp_path, "first.log")
    wait_for(lambda: len(stub.messages()) > 40, timeout=60)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    stub.release_posts()
    wait_for(lambda: stub.state.in_flight == 0, timeout=10)
    unconfirmed = len(stub.messages()) - sent_count(worker_config.db_path)
    assert unconfirmed >= 1 and len(stub.messages()) < COUNT

    second = start_worker(worker_config, tmp_path, "second.log")
    try:
        wait_for(lambda: sent_count(worker_config.db_path) == COUNT, timeout=120)
        assert second.poll() is None, "the worker stopped"
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=10)
    # Anything the worker still had in flight is stored by now: a duplicate would show.
    wait_for(lambda: stub.state.in_flight == 0, timeout=10)
    per_channel = [len(stub.messages(f"C{n:04d}")) for n in range(COUNT)]
    assert per_channel == [1] * COUNT
    assert "unreachable-feed" in (tmp_path / "second.log").read_text()


def test_two_workers_over_100_due_digests_post_exactly_100(worker_config, stub, tmp_path):
    now = datetime.now(UTC)
    db = connect(worker_config.db_path)
    for n in range(100):
        stub.add_channel(f"C{n:04d}", f"team-{n}")
        add_subscription(db, stub.team_id, f"U{n:04d}", f"C{n:04d}", due=now - timedelta(minutes=2))
    stub.state.post_delay = 0.01
    workers = [start_worker(worker_config, tmp_path, f"w{n}.log") for n in range(2)]
    try:
        wait_for(lambda: sent_count(worker_config.db_path) == 100, timeout=120)
        assert all(w.poll() is None for w in workers), "a worker stopped"
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
            w.wait(timeout=10)
    # Both workers are gone and every request they made is answered: a duplicate would show.
    wait_for(lambda: stub.state.in_flight == 0, timeout=10)
    assert len(stub.messages()) == 100
    logs = [(tmp_path / f"w{n}.log").read_text() for n in range(2)]
    assert sum("waiting instead of running jobs" in log for log in logs) == 1


def test_sigterm_mid_delivery_hands_over_with_nothing_in_flight(worker_config, stub, tmp_path):
    """A worker stopped (a deploy) during its 09:00 run released its lease at once and went
    on posting the run's digests: the worker taking over found the ones being posted, took
    them for a crash's leftovers and could post them again. Now it begins no further digest,
    lets those being posted finish, and only then gives the lease up; the rest stay due."""
    now = datetime.now(UTC)
    db = connect(worker_config.db_path)
    for n in range(COUNT):
        stub.add_channel(f"C{n:04d}", f"team-{n}")
        add_subscription(db, stub.team_id, f"U{n:04d}", f"C{n:04d}", due=now - timedelta(minutes=2))
    stub.state.post_delay = 0.2  # Slack stores each digest, then answers a little later
    first = start_worker(worker_config, tmp_path, "first.log")
    wait_for(lambda: len(stub.messages()) >= 10, timeout=60)
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=30)
    posted = len(stub.messages())
    in_flight = "SELECT COUNT(*) AS n FROM deliveries WHERE state = 'claimed'"
    assert posted < COUNT and next(db.query(in_flight))["n"] == 0
    assert sent_count(worker_config.db_path) == posted
    second = start_worker(worker_config, tmp_path, "second.log")
    try:
        wait_for(lambda: sent_count(worker_config.db_path) == COUNT, timeout=120)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=10)
    wait_for(lambda: stub.state.in_flight == 0, timeout=10)
    assert [len(stub.messages(f"C{n:04d}")) for n in range(COUNT)] == [1] * COUNT
