"""`make run`'s demo subscription: made once, a restart never touches users' own, and a
newcomer's first digest holds titled papers with real reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from jobs import worker
from jobs.ingest import ingest_target
from papers.local import demo_subscription
from slackstub import SlackStandIn
from storage import connect
from storage import subscriptions as subs
from storage.config import Config
from storage.schedule import Schedule
from tests.conftest import NOW, SEEDS

TEAM = "T0LOCAL"


def rows(db) -> list[dict]:
    return list(db.query("SELECT id, user_id, target, keywords, at_time, demo FROM subscriptions"))


def subscribe(db, at: str, keywords: str = "", target: str = "C0GENERAL"):
    return subs.create(
        db,
        team_id=TEAM,
        user_id="U0LOCAL",
        target=target,
        kind="channel",
        keywords=keywords,
        schedule=Schedule("daily", at, "UTC"),
        now=NOW,
    )


def test_restart_keeps_user_subscriptions_and_makes_the_demo_once(tmp_path):
    db = connect(tmp_path / "papers.db")
    first = demo_subscription(db, TEAM, NOW)
    assert first is not None and first.demo and first.next_due_at == NOW.isoformat()
    subscribe(db, "10:00", keywords="lora")
    subscribe(db, "11:00", target="C0OTHER")
    before = rows(db)
    assert demo_subscription(db, TEAM, NOW + timedelta(hours=3)) is None  # the restart
    assert rows(db) == before and [r["demo"] for r in before] == [1, 0, 0]


def test_the_demo_becomes_the_users_when_they_change_its_time(tmp_path):
    path = tmp_path / "papers.db"
    db = connect(path)
    demo_subscription(db, TEAM, NOW)
    changed = subscribe(db, "10:00")  # `/papers subscribe channel daily at 10:00` in #general
    assert not changed.created and changed.subscription.at_time == "10:00"
    db.close()
    db = connect(path)  # a restart, on the same file
    assert demo_subscription(db, TEAM, NOW + timedelta(days=1)) is None
    assert [(r["at_time"], r["demo"]) for r in rows(db)] == [("10:00", 0)]


def test_a_removed_demo_does_not_come_back(tmp_path):
    db = connect(tmp_path / "papers.db")
    made = demo_subscription(db, TEAM, NOW)
    subs.remove(db, TEAM, "U0LOCAL", str(made.id), "C0GENERAL")
    assert demo_subscription(db, TEAM, NOW) is None and rows(db) == []


def test_an_existing_general_digest_is_left_as_it_is(tmp_path):
    db = connect(tmp_path / "papers.db")
    subscribe(db, "08:15")
    assert demo_subscription(db, TEAM, NOW) is None
    assert [(r["at_time"], r["demo"]) for r in rows(db)] == [("08:15", 0)]


@pytest.fixture
def stub():
    server = SlackStandIn().start()
    yield server
    server.stop()


def test_first_demo_digest_on_a_fresh_clone_shows_titled_papers_with_reasons(tmp_path, stub):
    config = Config(
        db_path=str(tmp_path / "papers.db"),
        slack_bot_token=stub.token,
        slack_signing_secret="unused",
        slack_api_url=stub.api_url,
        inbox_dir=str(tmp_path / "inbox"),
    )
    now = datetime.now(UTC)  # as `make run` does: ingest seeds/ today, no --date
    db = connect(config.db_path)
    ingest_target(db, str(SEEDS), now)
    untitled = [r["title"] for r in db.query("SELECT title FROM papers WHERE title_derived = 1")]
    db.close()
    assert len(untitled) == 11
    db = connect(config.db_path)
    demo_subscription(db, stub.team_id, now)
    db.close()
    worker.deliver(config, datetime.now(UTC))  # the demo subscription is due at once
    (digest,) = stub.messages("C0GENERAL")
    assert digest["text"].endswith(": 5 papers")
    body = json.dumps(digest["blocks"], ensure_ascii=False)
    assert not any(title in body for title in untitled)
    assert body.count("listed Mar 16") == 5


@pytest.mark.parametrize(
    ("make_args", "env_db", "expected"),
    [
        pytest.param([], "mine.db", "mine.db", id="PAPERS_DB"),
        pytest.param(["DB=other.db"], "mine.db", "other.db", id="DB-overrides"),
        pytest.param([], None, "data/papers.db", id="default"),
    ],
)
def test_make_run_ingests_into_the_configured_database(tmp_path, make_args, env_db, expected):
    # `make run`'s first step, as make would run it: the seeds go into PAPERS_DB.
    import os
    import shlex
    import shutil
    import subprocess

    from tests.conftest import ROOT

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAPERS_"))}
    if env_db:
        env["PAPERS_DB"] = str(tmp_path / env_db)
    args = [a.replace("=", f"={tmp_path}/") for a in make_args]
    planned = subprocess.run(
        ["make", "-s", "-n", "-o", ".venv/.installed", "run", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
    ).stdout.splitlines()
    ingest = shlex.split(planned[0])
    assert ingest[-2:] == ["ingest", "seeds/"]
    ingest[0] = str(ROOT / ingest[0])
    ingest[-1] = str(SEEDS)
    subprocess.run(ingest, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=120)
    assert connect(tmp_path / expected, create=False)["papers"].count == 111


@pytest.mark.parametrize(
    "stop",
    ["SIGINT", "SIGTERM", "SIGTERM SIGTERM", "SIGHUP SIGTERM"],
    # Twice: `kill -- -PGID` on `make run` reaches papers run and make, which forwards it.
    # SIGHUP: the terminal window closed (the shell hangs its jobs up; make passes it on).
    ids=["ctrl-c", "sigterm", "sigterm-twice", "terminal-closed"],
)
def test_stopping_make_run_gives_the_worker_lease_up(tmp_path, stop, ctrl_c):
    # `papers worker` releases its lease when stopped; `make run` did not, so a `make run`
    # started again within PAPERS_LEASE_SECONDS logged that a dead worker held the lease
    # and ran no job (no inbox, no digest) until it lapsed.
    import os
    import signal
    import socket
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    from tests.bot.conftest import wait_for

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    path = tmp_path / "papers.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAPERS_"))}
    env.update(PORT=str(free_port()), PAPERS_INBOX=str(tmp_path / "inbox"))
    papers = str(Path(sys.executable).with_name("papers"))
    command = [papers, "--db", str(path), "run", "--standin-port", str(free_port())]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL)
    try:

        def holders() -> list[str]:
            # Read only: the app is creating and migrating this file meanwhile.
            try:
                with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
                    return [row[0] for row in conn.execute("SELECT holder FROM leases")]
            except sqlite3.OperationalError:  # not there yet, or its table not yet made
                return []

        assert wait_for(holders, timeout=30)
        for name in stop.split():
            process.send_signal(getattr(signal, name))
        assert process.wait(timeout=20) in (0, -signal.SIGINT, 130)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert holders() == []


def test_the_make_run_banner_promises_the_demo_digest_only_when_one_comes(tmp_path, ctrl_c):
    # A restart makes no demo digest, yet its banner said one "arrives within a minute".
    import os
    import signal
    import socket
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import printed_lines

    def free_port() -> int:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PAPERS_"))}
    env.update(PAPERS_INBOX=str(tmp_path / "inbox"))
    papers = str(Path(sys.executable).with_name("papers"))

    def banner() -> str:
        env["PORT"] = str(free_port())
        command = [papers, "--db", str(tmp_path / "p.db"), "run"]
        command += ["--standin-port", str(free_port())]
        run = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
        with run:
            lines = printed_lines(run.stdout, 7, timeout=30)
            run.send_signal(signal.SIGINT)
            assert run.wait(timeout=20) == 0
        return " ".join(line.strip() for line in lines)

    first, again = banner(), banner()
    assert "the demo's first digest for #general arrives within a minute." in first
    assert "arrives within a minute" not in again
    assert "your subscriptions are kept, the stand-in's messages are not" in again
